"""Compiling parts of a model: ``compile=dict(modules=['backbone'], ...)``
(what ``--compile`` sets) compiles the backbone in place; the compiled model
computes what the eager one does, forward and gradients, and does not
recompile on inputs of a fixed size."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel

from mmhornet.engine import MMHornetRunner
from mmhornet.models import HorNet
from mmhornet.utils import load_tool_config, parse_tool_args, tool_parser
from tests.test_models.helpers import tiny_arch

dynamo = pytest.importorskip('torch._dynamo')


class _Net(BaseModel):

    def __init__(self):
        super().__init__()
        self.backbone = HorNet(
            tiny_arch(),
            out_indices=(3, ),
            gap_before_final_norm=True,
            layer_scale_init_value=0.5)
        self.head = nn.Linear(128, 3)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.head(self.backbone(inputs)[0])


def _runner(tmp_path, compile_cfg):
    torch.manual_seed(0)
    return MMHornetRunner(
        model=_Net(), work_dir=str(tmp_path), cfg=dict(compile=compile_cfg))


def test_backbone_compiled_matches_eager(tmp_path):
    runner = _runner(tmp_path, dict(modules=['backbone'], backend='aot_eager'))
    eager = copy.deepcopy(runner.model)
    runner._maybe_compile('train_step')
    runner._maybe_compile('val_step')  # once only
    model = runner.model
    assert model.backbone._compiled_call_impl is not None
    assert eager.backbone._compiled_call_impl is None
    assert getattr(model.head, '_compiled_call_impl', None) is None
    x = torch.randn(2, 3, 64, 64)
    outs = []
    for m in (eager, model):
        m.train()
        y = m(x)
        y.square().mean().backward()
        outs.append((y.detach(), {
            n: p.grad.clone()
            for n, p in m.named_parameters()
        }))
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    for name, grad in outs[0][1].items():
        torch.testing.assert_close(
            grad, outs[1][1][name], rtol=1e-4, atol=1e-6, msg=name)
    # Fixed-size inputs: no recompiling.
    with dynamo.config.patch(error_on_recompile=True):
        for _ in range(2):
            model(torch.randn(2, 3, 64, 64)).sum().backward()
    dynamo.reset()


def test_unknown_module_is_named(tmp_path):
    runner = _runner(tmp_path, dict(modules=['neck']))
    with pytest.raises(ValueError, match=r"no submodule 'neck'.*'backbone'"):
        runner._maybe_compile('train_step')


@pytest.mark.parametrize('flag,expected',
                         [([], None),
                          (['--compile'], dict(modules=['backbone'])),
                          (['--compile', 'model'], True)])
def test_compile_flag(tmp_path, monkeypatch, flag, expected):
    from tests.test_tools.helpers import DATA, TOY_CONFIG
    monkeypatch.syspath_prepend(DATA)  # the toy config's custom_imports
    parser = tool_parser('t', 'config')
    parser.add_argument('--work-dir', default=str(tmp_path))
    args = parse_tool_args(parser, [TOY_CONFIG, *flag])
    cfg, _ = load_tool_config(parser, args, lambda cfg, host: None)
    assert cfg.get('compile') == expected
