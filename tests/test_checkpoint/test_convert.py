import argparse
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmhornet.checkpoint import (convert_hornet_state_dict, detect_format,
                                 load_hornet_pretrained, resize_gf_filter)
from mmhornet.models import HorNet

ROOT = Path(__file__).resolve().parents[2]
ARCH = dict(
    base_dim=8,
    depths=[1, 1, 2, 1],
    orders=[2, 2, 3, 3],
    dw_cfg=[dict(type='DW', kernel_size=7)] * 2 +
    [dict(type='GF', h=6, w=4)] * 2)


def _model(**kw):
    return HorNet(
        ARCH, out_indices=(0, 1, 2, 3), gap_before_final_norm=False, **kw)


def test_official_renames():
    sd = {
        'stages.2.5.gnconv.pws.0.weight': torch.zeros(1),
        'stages.0.0.gamma1': torch.zeros(1),
        'norm.weight': torch.zeros(1),
        'head.weight': torch.zeros(1)
    }
    assert detect_format(sd) == 'official'
    out, fmt = convert_hornet_state_dict(sd)
    assert fmt == 'official'
    assert list(out) == [
        'stages.2.5.gnconv.projs.0.weight', 'stages.0.0.gamma1.weight',
        'norm3.weight'
    ]


def test_prefix_auto_and_explicit():
    sd = {
        'backbone.stages.0.0.gamma1.weight': torch.zeros(1),
        'neck.x': torch.zeros(1)
    }
    out, fmt = convert_hornet_state_dict(sd)
    assert list(out) == ['stages.0.0.gamma1.weight'] and fmt == 'mmpretrain'
    with pytest.raises(
            ValueError, match="no checkpoint key starts with "
            "prefix 'encoder.'"):
        convert_hornet_state_dict(sd, prefix='encoder.')


def test_gf_filters_are_resized_at_load(tmp_path):
    src = HorNet(
        dict(
            ARCH,
            dw_cfg=ARCH['dw_cfg'][:2] + [dict(type='GF', h=14, w=8)] * 2),
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False)
    path = tmp_path / 'src.pth'
    torch.save({'state_dict': src.state_dict()}, path)
    model = _model()
    missing, unexpected = load_hornet_pretrained(model, str(path))
    assert missing == [] and unexpected == []
    key = 'stages.2.0.gnconv.dwconv.complex_weight'
    torch.testing.assert_close(model.state_dict()[key],
                               resize_gf_filter(src.state_dict()[key], (6, 4)))
    # Resizing keeps the corners (align_corners=True).
    torch.testing.assert_close(model.state_dict()[key][:, 0, 0],
                               src.state_dict()[key][:, 0, 0])


def test_missing_and_unexpected_keys_are_reported(tmp_path, capsys):
    sd = _model().state_dict()
    del sd['norm0.weight']
    sd['extra.weight'] = torch.zeros(2)
    path = tmp_path / 'part.pth'
    torch.save(sd, path)
    model = _model()
    before = model.norm0.weight.clone()
    missing, unexpected = load_hornet_pretrained(model, str(path))
    assert missing == ['norm0.weight'] and unexpected == ['extra.weight']
    torch.testing.assert_close(model.norm0.weight, before)
    with pytest.raises(ValueError, match=r'lacks 1 keys: \[.norm0.weight.\]'):
        load_hornet_pretrained(_model(), str(path), allow_missing=False)


def test_other_arch_is_an_error_listing_the_keys(tmp_path):
    other = HorNet(dict(ARCH, base_dim=16), out_indices=(0, 1, 2, 3))
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': other.state_dict()}, path)
    with pytest.raises(
            ValueError,
            match=r'shape mismatches; is it another '
            r'arch\?\):\n  downsample_layers.0.0.weight: '
            r'checkpoint \(16, 3, 4, 4\) vs model \(8, 3, 4, 4\)'):
        load_hornet_pretrained(_model(), str(path))


def test_missing_file_says_how_to_get_weights(tmp_path):
    model = _model(
        init_cfg=dict(
            type='Pretrained', checkpoint=str(tmp_path / 'nope.pth')))
    with pytest.raises(
            FileNotFoundError,
            match=r"nope.pth.*mmpretrain.*"
            r"model.backbone.init_cfg=None"):
        model.init_weights()


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / 'junk.pth'
    path.write_bytes(b'this is not a checkpoint')
    with pytest.raises(
            ValueError, match='junk.pth.* is not a complete '
            'PyTorch checkpoint'):
        load_hornet_pretrained(_model(), str(path))


def test_untrusted_pickles_stay_refused(tmp_path):
    path = tmp_path / 'args.pth'
    torch.save(
        {
            'model': _model().state_dict(),
            'args': argparse.Namespace(lr=1)
        }, path)
    with pytest.raises(
            ValueError,
            match=r'holds these Python objects '
            r'besides tensors: argparse.Namespace\. .*safe loader'
            r'.*hornet2mmhornet.py .*args.pth OUT.pth '
            r'--trust-source') as info:
        load_hornet_pretrained(_model(), str(path))
    # mmhornet's own words: no torch message with its colour codes, whole.
    assert '\x1b[' not in str(info.value)
    assert str(info.value).endswith('then load OUT.pth.')


def test_init_weights_loads_pretrained(tmp_path):
    src = _model()
    path = tmp_path / 'w.pth'
    torch.save(
        {
            'state_dict': {
                'backbone.' + k: v
                for k, v in src.state_dict().items()
            }
        }, path)
    model = _model(
        init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    assert not torch.equal(model.stages[1][0].pwconv1.weight,
                           src.stages[1][0].pwconv1.weight)
    model.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


def test_converter_tool_round_trip(tmp_path):
    src = _model()
    official = {}
    for k, v in src.state_dict().items():
        k = k.replace('.projs.', '.pws.').replace('gamma1.weight', 'gamma1')
        official[k.replace('gamma2.weight', 'gamma2')] = v
    official['head.weight'] = torch.randn(10, 64)
    official['head.bias'] = torch.randn(10)
    torch.save({
        'model': official,
        'args': argparse.Namespace(lr=1)
    }, tmp_path / 'official.pth')
    out = tmp_path / 'converted.pth'
    cmd = [
        sys.executable, 'tools/model_converters/hornet2mmhornet.py',
        str(tmp_path / 'official.pth'),
        str(out)
    ]
    refused = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode != 0 and 'safe loader' in refused.stderr
    done = subprocess.run(
        cmd + ['--trust-source'], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ckpt = torch.load(out)  # safe loader: the output is plain tensors
    assert ckpt['meta']['source_format'] == 'official'
    assert torch.equal(ckpt['state_dict']['head.fc.bias'],
                       official['head.bias'])
    model = _model()
    load_hornet_pretrained(model, str(out), allow_missing=False)
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
