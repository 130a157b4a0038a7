"""tools/train.py and tools/test.py: argument handling and clear errors.

Run in-process up to the point where the runner would be built, so they
take milliseconds; the end-to-end runs are in test_launch.py and
test_resume.py.
"""
import os.path as osp

import pytest
import torch

from .helpers import TOY_CONFIG, load_tool


@pytest.fixture(autouse=True)
def _restore_local_rank(monkeypatch):
    """parse_args sets LOCAL_RANK, as mmdet's tools do; undo it."""
    monkeypatch.setenv('LOCAL_RANK', '0')


@pytest.fixture(scope='module')
def train_tool():
    return load_tool('train')


@pytest.fixture(scope='module')
def test_tool():
    return load_tool('test')


def build(train_tool, *argv):
    parser, args = train_tool.parse_args([TOY_CONFIG, *argv])
    return train_tool.build_config(parser, args)


def exit_message(capsys, func, *argv):
    """Run ``func(argv)``, expect argparse's exit 2, return stderr."""
    with pytest.raises(SystemExit) as info:
        func(list(argv))
    assert info.value.code == 2
    return capsys.readouterr().err


def test_missing_config(train_tool, test_tool, capsys, tmp_path):
    missing = str(tmp_path / 'nope.py')
    err = exit_message(capsys, train_tool.main, missing)
    assert f"config file '{missing}' does not exist" in err
    err = exit_message(capsys, test_tool.main, missing, 'x.pth')
    assert f"config file '{missing}' does not exist" in err


def test_unknown_cfg_option(train_tool, capsys, toy_on_path):
    err = exit_message(capsys, train_tool.main, TOY_CONFIG, '--cfg-options',
                       'model.hiden=32')
    assert "model has no key 'hiden'" in err
    assert 'existing keys: hidden, in_dim, norm, out_dim, type' in err


def test_help_documents_the_strict_rule(train_tool, capsys):
    with pytest.raises(SystemExit):
        train_tool.parse_args(['--help'])
    out = ' '.join(capsys.readouterr().out.split())
    assert 'Every key path must already exist in the config' in out
    assert '--cfg-options-allow-new' in out


def test_allow_new(train_tool, toy_on_path, tmp_path):
    cfg = build(train_tool, '--work-dir', str(tmp_path), '--cfg-options',
                'model.extra=3', '--cfg-options-allow-new')
    assert cfg.model.extra == 3


def test_defaults_work_dir(train_tool, toy_on_path):
    cfg = build(train_tool)
    assert cfg.work_dir == osp.join('./work_dirs', 'toy_config')
    assert cfg.launcher == 'none'
    assert not cfg.resume


def test_amp_as_mmdet_writes_it(train_tool, toy_on_path):
    """--amp writes mmdet's AmpOptimWrapper; the runner adapts it to the
    machine (tests/test_tools/test_amp.py)."""
    cfg = build(train_tool, '--amp')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_auto_scale_lr(train_tool, toy_on_path, tmp_path, capsys):
    cfg = build(train_tool, '--auto-scale-lr')
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=4)
    no_scale = tmp_path / 'no_scale.py'
    no_scale.write_text(f'_base_ = [{TOY_CONFIG!r}]\nauto_scale_lr = None\n')
    err = exit_message(capsys, train_tool.main, str(no_scale),
                       '--auto-scale-lr')
    assert '--auto-scale-lr needs auto_scale_lr=dict(' in err


def test_unsupported_scope(train_tool, toy_on_path, tmp_path, capsys):
    other = tmp_path / 'other.py'
    other.write_text(f'_base_ = [{TOY_CONFIG!r}]\ndefault_scope = "mmfoo"\n')
    err = exit_message(capsys, train_tool.main, str(other))
    assert "default_scope='mmfoo' is not supported" in err


def test_resume_paths(train_tool, toy_on_path, tmp_path, capsys):
    work_dir = str(tmp_path)
    # No checkpoint yet: start afresh and keep the config's load_from.
    cfg = build(train_tool, '--work-dir', work_dir, '--resume')
    assert not cfg.resume and cfg.load_from is None
    ckpt = tmp_path / 'iter_10.pth'
    torch.save(dict(state_dict={}), ckpt)
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    cfg = build(train_tool, '--work-dir', work_dir, '--resume')
    assert cfg.resume and cfg.load_from == str(ckpt)
    cfg = build(train_tool, '--work-dir', work_dir, '--resume', str(ckpt))
    assert cfg.resume and cfg.load_from == str(ckpt)

    missing = str(tmp_path / 'iter_99.pth')
    err = exit_message(capsys, train_tool.main, TOY_CONFIG, '--resume',
                       missing)
    assert f"--resume '{missing}' is not a checkpoint file" in err


def test_test_tool_checkpoint_errors(test_tool, tmp_path, capsys):
    missing = str(tmp_path / 'missing.pth')
    err = exit_message(capsys, test_tool.main, TOY_CONFIG, missing)
    assert f"checkpoint '{missing}' does not exist" in err

    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    err = exit_message(capsys, test_tool.main, TOY_CONFIG, str(text))
    assert f"checkpoint '{text}' is not a checkpoint file" in err

    ckpt = tmp_path / 'good.pth'
    torch.save(dict(state_dict={}), ckpt)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(ckpt.read_bytes()[:-40])
    err = exit_message(capsys, test_tool.main, TOY_CONFIG, str(truncated))
    assert 'is not a checkpoint file' in err


def test_test_tool_out_must_be_pickle(test_tool, toy_on_path, tmp_path,
                                      capsys):
    ckpt = tmp_path / 'good.pth'
    torch.save(dict(state_dict={}), ckpt)
    err = exit_message(capsys, test_tool.main, TOY_CONFIG, str(ckpt), '--out',
                       str(tmp_path / 'out.json'))
    assert 'the dump file must end with .pkl or .pickle' in err


def test_test_tool_show_needs_visualization_hook(test_tool, toy_on_path,
                                                 tmp_path, capsys):
    ckpt = tmp_path / 'good.pth'
    torch.save(dict(state_dict={}), ckpt)
    err = exit_message(capsys, test_tool.main, TOY_CONFIG, str(ckpt),
                       '--show-dir', str(tmp_path))
    assert "--show/--show-dir need a host config with default_hooks." in err


def test_missing_data_root_stops_before_training(train_tool, capsys, tmp_path):
    config = osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
        'configs', 'demo', 'cascade-mask-rcnn_hornet-demo_horfpn_demo.py')
    err = exit_message(
        capsys, train_tool.main, config, '--work-dir', str(tmp_path),
        '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path}/missing/')
    assert f"data_root '{tmp_path}/missing/' does not exist" in err
    assert 'make_demo_data.py' in err
