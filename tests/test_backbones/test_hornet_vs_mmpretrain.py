"""mmhornet's HorNet against mmpretrain's (installed), same weights, through
every checkpoint format mmhornet reads."""
import re
from collections import OrderedDict

import pytest
import torch

from mmhornet.models import HorNet
from tests.reference_hornet import rel_err

mmpretrain_backbones = pytest.importorskip(
    'mmpretrain.models.backbones',
    reason='mmpretrain is part of the pinned stack (make test installs it)')

SIZES = [(224, 224), (256, 309)]


def _randomized_mmpretrain(arch, out_indices, gap):
    torch.manual_seed(0)
    ref = mmpretrain_backbones.HorNet(
        arch=arch, out_indices=out_indices, gap_before_final_norm=gap)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            # Layer scales of 1e-6 would hide the blocks: make every weight
            # matter.
            if 'gamma' in name:
                p.copy_(torch.rand_like(p) * 0.5 + 0.25)
            elif p.ndim == 1:
                p.add_(torch.randn_like(p) * 0.1)
    ref.eval()  # mmpretrain's train() returns None, so no chaining
    return ref


def _to_official(sd):
    """mmpretrain backbone keys -> the official repo's keys."""
    out = OrderedDict()
    for k, v in sd.items():
        k = k.replace('.gnconv.projs.', '.gnconv.pws.')
        k = re.sub(r'(gamma[12])\.weight$', r'\1', k)
        out[k] = v
    return out


def _formats(tmp_path, ref_sd, gap):
    """Write the four checkpoint formats; yield (name, path)."""
    files = {}
    official = _to_official(ref_sd)
    if gap:
        # ImageNet classifier: final `norm` over pooled features + head.
        imagenet = OrderedDict(
            (k.replace('norm3.', 'norm.'), v) for k, v in official.items())
        imagenet['head.weight'] = torch.randn(1000, 512)
        imagenet['head.bias'] = torch.randn(1000)
        files['official-imagenet'] = dict(model=imagenet, model_ema=imagenet)
    else:
        down = OrderedDict(('backbone.' + k, v) for k, v in official.items())
        down['neck.lateral_convs.0.conv.weight'] = torch.randn(4, 4, 1, 1)
        files['official-mmdet'] = dict(state_dict=down, meta=dict(epoch=36))
    mmpre = OrderedDict(('backbone.' + k, v) for k, v in ref_sd.items())
    mmpre['head.fc.weight'] = torch.randn(1000, 512)
    files['mmpretrain'] = dict(state_dict=mmpre, meta=dict(mmpretrain='1.2'))
    files['mmhornet'] = dict(state_dict=OrderedDict(ref_sd))
    for name, ckpt in files.items():
        path = tmp_path / f'{name}.pth'
        torch.save(ckpt, path)
        yield name, str(path)


@pytest.mark.parametrize('arch', ['tiny', 'tiny-gf'])
def test_training_gradients_equal_mmpretrain(arch):
    """The training path (fast depthwise weight gradient, in-place residual
    adds, folded layer scales) gives mmpretrain's gradients."""
    ref = _randomized_mmpretrain(arch, (0, 1, 2, 3), False)
    ours = HorNet(
        arch=arch, out_indices=(0, 1, 2, 3), gap_before_final_norm=False)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 96, 128)
    grads = []
    for model in (ours, ref):
        model.train()
        sum(o.square().mean() for o in model(x)).backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
    assert grads[0].keys() == grads[1].keys()
    # Relative to the largest gradient: inside g^nConv some parameters'
    # gradients are ~1e-11 (products of gates), where fp32 rounding is the
    # whole value.
    flat = [torch.cat([g.flatten() for g in gs.values()]) for gs in grads]
    assert rel_err(flat[0], flat[1]) < 1e-5
    # And per parameter, where its gradient is above that rounding.
    largest = flat[1].abs().max()
    for name, grad in grads[1].items():
        if grad.abs().max() > 1e-4 * largest:
            assert rel_err(grads[0][name], grad) < 1e-4, name


@pytest.mark.parametrize('arch', ['tiny', 'tiny-gf', 'small-gf'])
@pytest.mark.parametrize('gap', [False, True], ids=['maps', 'imagenet'])
def test_outputs_equal_mmpretrain_through_every_format(tmp_path, arch, gap):
    out_indices = (3, ) if gap else (0, 1, 2, 3)
    ref = _randomized_mmpretrain(arch, out_indices, gap)
    inputs = [torch.randn(1, 3, *s) for s in SIZES]
    with torch.no_grad():
        expected = [ref(x) for x in inputs]
    for fmt, path in _formats(tmp_path, ref.state_dict(), gap):
        model = HorNet(
            arch,
            out_indices=out_indices,
            gap_before_final_norm=gap,
            init_cfg=dict(type='Pretrained', checkpoint=path))
        model.init_weights()
        model.eval()
        with torch.no_grad():
            for x, exp in zip(inputs, expected):
                outs = model(x)
                assert len(outs) == len(exp)
                for o, e in zip(outs, exp):
                    assert o.shape == e.shape
                    err = rel_err(o, e)
                    assert err < 1e-5, (fmt, tuple(x.shape), err)


@pytest.mark.parametrize('arch', [
    'tiny', 'tiny-gf', 'small', 'small-gf', 'base', 'base-gf', 'large',
    'large-gf'
])
def test_parameter_counts_equal_mmpretrain(arch):
    # Names and shapes only: ours on the meta device (no memory; mmpretrain's
    # reads values while it builds).
    with torch.device('meta'):
        ours = HorNet(arch, out_indices=(0, 1, 2, 3))
    ref = mmpretrain_backbones.HorNet(arch=arch, out_indices=(0, 1, 2, 3))
    assert [(k, v.shape) for k, v in ours.state_dict().items()
            ] == [(k, v.shape) for k, v in ref.state_dict().items()]


@pytest.mark.parametrize('arch,millions',
                         [('tiny', 22.41),
                          ('tiny-gf', 22.99), ('small', 49.53),
                          ('small-gf', 50.40), ('base', 87.26),
                          ('base-gf', 88.42)])
def test_parameter_counts_match_the_paper(arch, millions):
    model = HorNet(arch)  # ImageNet: norm3 only
    head = model.dims[3] * 1000 + 1000
    total = sum(p.numel() for p in model.parameters()) + head
    assert round(total / 1e6, 2) == millions
