"""Projection weights kept cast under autocast (``policy.cache_casts``):
the same outputs as autocast's own cast on every call, recomputed once a
weight changes, and kept only where no gradient flows."""
import copy

import pytest
import torch

from mmhornet.layers import GnConv, utils
from .helpers import mixed_model

BF16 = dict(device_type='cpu', dtype=torch.bfloat16)


def _model():
    return mixed_model().eval()


X = torch.randn(2, 3, 64, 96)


def _entries(model):
    return sum(len(m.__dict__.get('_cast_cache', {})) for m in model.modules())


def _bf16(model, x=X):
    with torch.no_grad(), torch.autocast(**BF16):
        return [o.float() for o in model(x)]


def _uncached(model, monkeypatch, x=X):
    with monkeypatch.context() as m:
        m.setattr(utils, 'cache_casts', lambda *sources: False)
        return _bf16(model, x)


def _equal(a, b):
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_kept_weights_give_autocasts_numbers(monkeypatch):
    model = _model()
    first = _bf16(model)
    # proj_in, projs, proj_out, pwconv1, pwconv2 of each of the 5 blocks.
    assert _entries(model) == sum(2 + order + 1 for order in (2, 3, 4, 4, 5))
    _equal(_bf16(model), first)
    _equal(_uncached(model, monkeypatch), first)


@pytest.mark.parametrize('change', ['projection', 'layer scale', 'load'])
def test_a_changed_weight_is_cast_again(monkeypatch, change):
    model = _model()
    _bf16(model)
    block = model.stages[1][0]
    with torch.no_grad():
        if change == 'projection':
            block.gnconv.proj_out.weight.mul_(-2)
            block.pwconv1.bias.add_(1)
        elif change == 'layer scale':
            block.gamma2.weight.mul_(3)
        else:
            other = _model()
            for p in other.parameters():
                p.mul_(1.5)
            model.load_state_dict(other.state_dict())
    _equal(_bf16(model), _uncached(model, monkeypatch))


def test_nothing_kept_with_gradients_or_without_autocast():
    model = _model()
    with torch.autocast(**BF16):
        model(X)  # gradients flow into the weights
    with torch.no_grad():
        model(X)  # fp32
    assert _entries(model) == 0
    model.requires_grad_(False)  # frozen: nothing flows
    with torch.autocast(**BF16):
        model(X)
    assert _entries(model) > 0


def test_to_drops_the_kept_weights():
    model = _model()
    _bf16(model)
    assert _entries(model) > 0
    model.to(torch.float64)
    assert _entries(model) == 0


def test_a_copy_keeps_its_own():
    model = _model()
    _bf16(model)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for p in twin.parameters():
            p.mul_(0.5)
    _equal(_bf16(model), _bf16(_model()))
    assert not all(
        torch.equal(a, b) for a, b in zip(_bf16(twin), _bf16(model)))


def test_gnconv_in_a_neck_keeps_its_weights_too(monkeypatch):
    torch.manual_seed(0)
    layer = GnConv(32, order=3).eval()  # channels-first, as in HorFPN
    x = torch.randn(1, 32, 12, 12)
    with torch.no_grad(), torch.autocast(**BF16):
        out = layer(x)
    assert _entries(layer) == 4  # proj_in, two projs, proj_out
    with monkeypatch.context() as m:
        m.setattr(utils, 'cache_casts', lambda *sources: False)
        with torch.no_grad(), torch.autocast(**BF16):
            assert torch.equal(layer(x), out)


def test_kept_under_inference_mode_then_used_with_gradients():
    # Weights kept during an inference_mode validation, then a frozen
    # layer between trainable ones: autograd saves the kept weights.
    model = _model().requires_grad_(False)
    with torch.inference_mode(), torch.autocast(**BF16):
        model(X)
    assert _entries(model) > 0
    x = X.clone().requires_grad_(True)
    with torch.autocast(**BF16):
        out = model(x)
    # squares: each output is a LayerNorm, whose plain sum has no gradient.
    sum(o.float().square().mean() for o in out).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
