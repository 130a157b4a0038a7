"""The metafiles are the single source of results, weights and recipes:
every config has its entry, mmengine and mim read them through
``mmhornet/.mim``, and the README tables are generated from them."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.utils import get_installed_path

import mmhornet  # noqa: F401  (registers the mmhornet:: config scope)
from ..test_configs.metafiles import ALIASES, CONFIGS, load_models

REPO = CONFIGS.parent
FOLDERS = ('coco', 'ade20k', 'imagenet', 'gnconv')


def _tables_module():
    spec = importlib.util.spec_from_file_location(
        'metafile_tables', REPO / 'tools' / 'misc' / 'metafile_tables.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('folder', FOLDERS)
def test_every_config_has_one_entry(folder):
    meta = yaml.safe_load((CONFIGS / folder / 'metafile.yml').read_text())
    configs = [m['Config'] for m in meta['Models']]
    assert len(configs) == len(set(configs))
    assert sorted(Path(c).name for c in configs) == sorted(
        p.name for p in (CONFIGS / folder).glob('*.py')
        if p.name not in ALIASES)
    collections = {c['Name'] for c in meta['Collections']}
    for model in meta['Models']:
        assert (REPO / model['Config']).is_file(), model['Config']
        assert model['In Collection'] in collections
        assert set(model['Metadata']) >= {
            'Backbone', 'Drop Path', 'Learning Rate', 'Batch Size'
        }
        for result in model.get('Results', []):
            assert all(
                isinstance(v, float)
                for v in result['Metrics'].values()), model['Name']
    for collection in meta['Collections']:
        assert (REPO / collection['README']).is_file()


def test_model_index_imports_every_metafile():
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    assert index['Import'] == [f'configs/{f}/metafile.yml' for f in FOLDERS]


def test_readme_tables_are_generated_from_the_metafiles(monkeypatch):
    tables = _tables_module()
    assert tables.main(['--check']) == 0
    # A changed result makes every README that shows it stale.
    load = tables.load_metafile

    def edited(folder):
        meta = load(folder)
        if folder == 'coco':
            meta['Models'][0]['Results'][0]['Metrics']['box AP'] = 99.9
        return meta

    monkeypatch.setattr(tables, 'load_metafile', edited)
    stale = [
        p for p, text in tables.updated_readmes().items()
        if p.read_text() != text
    ]
    assert sorted(p.relative_to(REPO).as_posix()
                  for p in stale) == ['README.md', 'configs/coco/README.md']


def test_mmengine_reads_configs_and_weights_through_mim():
    """``mmengine.hub.get_config('mmhornet::...')``: the config file from the
    installed package's .mim, the weights URL from its metafile."""
    assert Path(get_installed_path('mmhornet'), '.mim', 'configs').is_dir()
    name = 'cascade-mask-rcnn_hornet-t_fpn_3x_coco'
    cfg = get_config(f'mmhornet::coco/{name}.py', pretrained=True)
    assert cfg.model.backbone.type == 'mmhornet.HorNet'
    assert cfg.model_path == load_models('coco')[f'{name}.py']['Weights']
    cfg = get_config('mmhornet::coco/hornet_cascade.py')  # no entry: a base
    assert cfg.model.backbone.arch == 'tiny-gf'


def test_user_config_inherits_mmhornet_base(tmp_path):
    """A config outside the repo, ``_base_ = 'mmhornet::...'``, loaded in a
    fresh process that imports mmhornet (as mmhornet's tools and mim's do)
    from another folder."""
    user = tmp_path / 'my_cascade.py'
    user.write_text(
        "_base_ = ['mmhornet::coco/cascade-mask-rcnn_hornet-s_fpn_3x_coco"
        ".py']\nmodel = dict(backbone=dict(drop_path_rate=0.1))\n"
        "train_dataloader = dict(batch_size=4)\n")
    script = ('import mmhornet\nfrom mmengine.config import Config\n'
              f'cfg = Config.fromfile({str(user)!r})\n'
              'print(cfg.model.backbone.arch, cfg.model.backbone.'
              'drop_path_rate, cfg.train_dataloader.batch_size, '
              'cfg.runner_type, cfg.optim_wrapper.paramwise_cfg.decay_rate)')
    out = subprocess.run([sys.executable, '-c', script],
                         cwd=tmp_path,
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == [
        'small', '0.1', '4', 'mmhornet.MMHornetRunner', '0.7'
    ]
    # In this process mmhornet is imported, so Config reads it as well.
    assert Config.fromfile(
        str(user)).model.neck.in_channels == [96, 192, 384, 768]
