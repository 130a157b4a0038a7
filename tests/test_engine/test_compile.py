"""Compiling parts of a model: ``compile=dict(modules=['backbone'], ...)``
(what ``--compile`` sets) compiles the backbone in place; the compiled model
computes what the eager one does, forward and gradients, and does not
recompile on inputs of a fixed size. ``freeze=True`` (``tools/test.py
--compile frozen``) adds inductor's freezing, for testing only."""
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


def _rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


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


def test_frozen_backbone_matches_eager_and_is_refused_in_training(tmp_path):
    runner = _runner(tmp_path, dict(modules=['backbone'], freeze=True))
    with pytest.raises(ValueError, match='for testing a checkpoint'):
        runner._maybe_compile('train_step')
    eager = copy.deepcopy(runner.model).eval()
    runner._maybe_compile('test_step')
    model = runner.model.eval()
    x = torch.randn(2, 3, 64, 64)
    try:
        with torch.no_grad(), runner._freezing():
            expected = eager(x)
            with dynamo.config.patch(error_on_recompile=True):
                for _ in range(2):
                    torch.testing.assert_close(
                        model(x), expected, rtol=1e-4, atol=1e-4)
            # Frozen: weights written afterwards are not followed (why it
            # is refused in training); a plain compiled model would follow.
            for m in (eager, model):
                for p in m.backbone.parameters():
                    p.data.mul_(0.5)
            assert _rel_err(model(x), eager(x)) > 0.1  # 0.44 seen
    finally:
        dynamo.reset()
    with pytest.raises(ValueError, match='for testing a checkpoint'):
        runner.train()  # also after test() compiled it


def test_loading_a_checkpoint_into_a_frozen_model_compiles_it_afresh(
        tmp_path, monkeypatch):
    # A reload into a frozen model after dynamo.reset() matched eager within
    # 6e-4, where the stale frozen graph was 0.44 off; here only the reset
    # is checked (no compiling: the suite's time).
    resets = []
    monkeypatch.setattr(dynamo, 'reset', lambda: resets.append(True))
    torch.save(dict(state_dict=_Net().state_dict()), tmp_path / 'c.pth')
    for compile_cfg in (dict(modules=['backbone'],
                             freeze=True), dict(modules=['backbone'])):
        runner = _runner(tmp_path, compile_cfg)
        runner.load_checkpoint(str(tmp_path / 'c.pth'))  # not compiled yet
        runner._maybe_compile('test_step')
        runner.load_checkpoint(str(tmp_path / 'c.pth'))
    assert resets == [True]  # the frozen model's second load only


def test_test_and_val_run_under_the_freezing_flag(tmp_path, monkeypatch):
    # Dynamo reads the config flag when it traces (the compile option alone
    # leaves the parameters as graph inputs: no folding, no prepacking).
    import torch._inductor.config as inductor_config
    from mmengine.runner import Runner
    seen = []
    for name in ('test', 'val'):
        monkeypatch.setattr(Runner, name,
                            lambda self: seen.append(inductor_config.freezing))
    for compile_cfg in (dict(modules=['backbone'],
                             freeze=True), dict(modules=['backbone'])):
        runner = _runner(tmp_path, compile_cfg)
        runner.test()
        runner.val()
    assert seen == [True, True, False, False]
    assert not inductor_config.freezing
    # Freezing set process-wide is off while training runs.
    monkeypatch.setattr(Runner, 'train',
                        lambda self: seen.append(inductor_config.freezing))
    with inductor_config.patch(freezing=True):
        _runner(tmp_path, dict(modules=['backbone'])).train()
    assert seen[-1] is False


@pytest.mark.parametrize('compile_cfg,target,match', [
    (dict(modules=['backbone'], options=dict(freezing=True)), 'train_step',
     'for testing a checkpoint'),
    (dict(modules=['backbone'], freeze=True,
          backend='aot_eager'), 'test_step', 'needs the inductor backend'),
    (dict(modules=['backbone'], freeze=True,
          mode='max-autotune'), 'test_step', 'drop mode'),
])
def test_bad_frozen_compile_is_refused(tmp_path, compile_cfg, target, match):
    runner = _runner(tmp_path, compile_cfg)
    with pytest.raises(ValueError, match=match):
        runner._maybe_compile(target)
    assert runner.model.backbone._compiled_call_impl is None


def test_unknown_module_is_named(tmp_path):
    runner = _runner(tmp_path, dict(modules=['neck']))
    with pytest.raises(ValueError, match=r"no submodule 'neck'.*'backbone'"):
        runner._maybe_compile('train_step')


@pytest.mark.parametrize(
    'flag,expected',
    [([], None), (['--compile'], dict(modules=['backbone'])),
     (['--compile', 'model'], True),
     (['--compile', 'frozen'], dict(modules=['backbone'], freeze=True))])
def test_compile_flag(tmp_path, monkeypatch, flag, expected):
    from tests.test_tools.helpers import DATA, TOY_CONFIG
    monkeypatch.syspath_prepend(DATA)  # the toy config's custom_imports
    parser = tool_parser('t', 'config')
    parser.add_argument('--work-dir', default=str(tmp_path))
    args = parse_tool_args(parser, [TOY_CONFIG, *flag], inference=True)
    cfg, _ = load_tool_config(parser, args, lambda cfg, host: None)
    assert cfg.get('compile') == expected


def test_frozen_flag_is_for_testing_tools_only(capsys):
    from tests.test_tools.helpers import TOY_CONFIG
    with pytest.raises(SystemExit) as exc:
        parse_tool_args(
            tool_parser('t', 'config'), [TOY_CONFIG, '--compile', 'frozen'])
    assert exc.value.code == 2
    assert "invalid choice: 'frozen'" in capsys.readouterr().err
