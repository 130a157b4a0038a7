"""mmhornet packaged the OpenMMLab way: a wheel that carries configs, tools
and model-index.yml under ``mmhornet/.mim``, and ``mim train`` / ``mim test``
running mmhornet's and a host's configs."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest
import torch

from ..test_tools.helpers import DATA, REPO, TOY_CONFIG, tool_env

MIM = osp.join(osp.dirname(sys.executable), 'mim')


def _run(cmd, cwd=REPO, env=None, timeout=600):
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env or tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow
def test_wheel_carries_configs_and_works_installed(tmp_path):
    """Build a wheel from a copy of the tracked files, install it into an
    empty target folder, and use it from there: the stack's packages from
    this environment, mmhornet and its .mim from the wheel."""
    src = tmp_path / 'src'
    files = subprocess.run(['git', 'ls-files', '-z'],
                           cwd=REPO,
                           check=True,
                           capture_output=True).stdout.decode().split('\0')
    for name in filter(None, files):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(osp.join(REPO, name), src / name)
    code, out = _run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-w',
        str(tmp_path / 'dist'),
        str(src)
    ],
                     cwd=tmp_path)
    assert code == 0, out[-3000:]
    (wheel, ) = (tmp_path / 'dist').glob('mmhornet-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ('configs/coco/hornet_cascade.py',
                 'configs/ade20k/hornet_upernet.py',
                 'configs/_base_/default_runtime.py',
                 'configs/coco/metafile.yml', 'tools/train.py',
                 'tools/dist_train.sh', 'model-index.yml'):
        assert f'mmhornet/.mim/{name}' in names, name
    assert not any('__pycache__' in n or n.startswith('tests/') for n in names)

    site = tmp_path / 'site'
    code, out = _run([
        sys.executable, '-m', 'pip', 'install', '--no-deps', '--target',
        str(site),
        str(wheel)
    ],
                     cwd=tmp_path)
    assert code == 0, out[-3000:]
    script = ('import mmhornet\n'
              'from mmengine.hub import get_config\n'
              'from mmengine.utils import get_installed_path\n'
              'cfg = get_config("mmhornet::ade20k/hornet_upernet.py")\n'
              'print("RESULT", mmhornet.__file__)\n'
              'print("RESULT", get_installed_path("mmhornet"))\n'
              'print("RESULT", cfg.model.backbone.arch, cfg.runner_type)\n')
    env = dict(os.environ, PYTHONPATH=str(site))
    code, out = _run([sys.executable, '-c', script], cwd=tmp_path, env=env)
    assert code == 0, out[-3000:]
    lines = [
        line[len('RESULT '):] for line in out.splitlines()
        if line.startswith('RESULT ')
    ]
    assert lines[0] == str(site / 'mmhornet' / '__init__.py')
    assert lines[1] == str(site / 'mmhornet')
    assert lines[2] == 'tiny-gf384 mmhornet.MMHornetRunner'


@pytest.mark.slow
def test_mim_train_and_test_mmhornet(tmp_path):
    work_dir = tmp_path / 'work'
    code, out = _run([
        MIM, 'train', 'mmhornet', TOY_CONFIG, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_iters=4',
        'default_hooks.checkpoint.interval=4'
    ])
    assert code == 0, out[-3000:]
    assert 'Training finished successfully' in out
    # mim ran mmhornet's train.py from the installed package's .mim folder.
    assert 'mmhornet/.mim/tools/train.py' in out
    assert torch.load(work_dir /
                      'toy_rank0.pth')['losses'].keys() == {1, 2, 3, 4}
    code, out = _run([
        MIM, 'test', 'mmhornet', TOY_CONFIG, '--checkpoint',
        str(work_dir / 'iter_4.pth'), '--work-dir',
        str(tmp_path / 'test')
    ])
    assert code == 0, out[-3000:]
    assert 'mse:' in out


@pytest.mark.slow
def test_mim_finds_mmhornet_configs_by_name(tmp_path):
    """``mim train mmhornet hornet_cascade.py`` from any folder resolves the
    config in the package; without COCO it stops at mmhornet's data check."""
    code, out = _run([
        MIM, 'train', 'mmhornet', 'hornet_cascade.py', '--work-dir',
        str(tmp_path / 'w')
    ],
                     cwd=tmp_path)
    assert code != 0
    assert "we find the config file in codebase mmhornet" in out
    assert 'configs/coco/hornet_cascade.py' in out
    assert "train_dataloader.dataset.data_root 'data/coco/' does not " \
        'exist' in out


@pytest.mark.slow
def test_mim_train_host_with_a_swap_config(tmp_path):
    """``mim train mmdet MY_SWAP_CONFIG``: mmdet's own train.py with mmhornet
    from custom_imports."""
    from mmhornet.demo import generate_demo_data
    data = generate_demo_data(
        str(tmp_path / 'data'),
        num_train=4,
        num_val=2,
        min_size=128,
        max_size=160,
        progress=False)
    root = data['coco_root'] + '/'
    ann = root + 'annotations/instances_val.json'
    code, out = _run([
        MIM, 'train', 'mmdet',
        osp.join(DATA, 'swap_retinanet_demo.py'), '--work-dir',
        str(tmp_path / 'w'), '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
        'train_cfg.max_epochs=1'
    ])
    assert code == 0, out[-3000:]
    assert 'mmdet/.mim/tools/train.py' in out
    assert (tmp_path / 'w' / 'epoch_1.pth').is_file()
    assert "type='mmhornet.HorNet'" in out
