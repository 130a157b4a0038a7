"""The runner mmhornet's configs select: mmengine's, portable and safe.

``runner_type='mmhornet.MMHornetRunner'`` (set by mmhornet's
``configs/_base_/default_runtime.py`` and by mmhornet's tools) picks it, so
it runs under any launcher that builds runners from ``runner_type``:
mmhornet's, mmdet's and mmseg's ``tools/train.py`` / ``test.py``,
``mim train``, or ``RUNNERS.build(cfg)`` / ``MMHornetRunner.from_cfg(cfg)``
in a script.
"""
from contextlib import contextmanager, nullcontext
from typing import Dict, Optional, Union

import torch
from mmengine.dist import is_distributed
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmhornet.checkpoint import (atomic_checkpoint_hook,
                                 check_checkpoint_matches,
                                 find_last_complete_checkpoint)
from mmhornet.models.plugins import check_plugins
from mmhornet.registry import RUNNERS
from .dist import init_cpu_dist, register_teardown
from .model_wrappers import cpu_wrapper_cfg
from .optim_wrappers import amp_for_this_machine

RUNNER = 'mmhornet.MMHornetRunner'

_FROZEN_TRAINING = (
    'compile with freeze=True (or --compile frozen) folds the weights into '
    'the compiled graph as constants: it is for testing a checkpoint '
    '(tools/test.py, Runner.test / val). In training, every validation would '
    "evaluate the weights of the first one. Use compile=dict(modules=["
    "'backbone']) (--compile) to train.")


def freezing(enabled: bool = True):
    """A context that sets inductor's freezing flag, under which a model
    compiled with ``options={'freezing': True}`` must first run: dynamo reads
    the flag (not the option) when it traces.

    Args:
        enabled (bool): False gives a context that changes nothing.
    """
    if not enabled:
        return nullcontext()
    import torch._inductor.config as inductor_config
    return inductor_config.patch(freezing=True)


def frozen_compile_options(options: Dict, target: str) -> Dict:
    """``torch.compile`` keyword arguments with inductor's freezing on.

    Freezing folds the parameters into the compiled graph as constants, so
    the compiled module stops following its weights: later writes to them
    are not all seen (after ``p.data.mul_(0.5)`` on every parameter, a
    frozen HorNet's outputs no longer match its eager twin's). Fine for
    testing a loaded checkpoint, wrong wherever the weights move.

    Dynamo reads ``torch._inductor.config.freezing`` when it traces, to keep
    parameters out of the graph's inputs; the inductor option alone comes
    too late for that, so the runner also runs ``test()`` / ``val()`` under
    the config flag (:func:`freezing`).

    Args:
        options (dict): The ``compile`` config without ``modules`` and
            ``freeze``: ``torch.compile``'s keyword arguments.
        target (str): ``'train_step'``, ``'val_step'`` or ``'test_step'``.

    Returns:
        dict: ``options`` with ``options['options']['freezing'] = True``.

    Raises:
        ValueError: In training, or with a backend other than inductor.
    """
    if target == 'train_step':
        raise ValueError(_FROZEN_TRAINING)
    backend = options.get('backend', 'inductor')
    if backend != 'inductor':
        raise ValueError(
            f'compile with freeze=True needs the inductor backend (freezing '
            f'is an inductor option), got backend={backend!r}; drop backend '
            'or set it to "inductor".')
    if 'mode' in options:
        raise ValueError(
            f"compile with freeze=True sets torch.compile's options, which "
            f"torch.compile does not take with a mode (got "
            f"mode={options['mode']!r}); drop mode, or give its settings as "
            'options, e.g. options=dict(max_autotune=True).')
    inductor_options = dict(options.get('options') or {}, freezing=True)
    return dict(options, options=inductor_options)


def _freezes(compile_cfg) -> bool:
    """Whether a ``compile=dict(modules=[...], ...)`` config asks for
    inductor's freezing."""
    return isinstance(compile_cfg, dict) and 'modules' in compile_cfg and bool(
        compile_cfg.get('freeze') or
        (compile_cfg.get('options') or {}).get('freezing'))


@RUNNERS.register_module()
class MMHornetRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner`, changed only where a run
    would otherwise fail or lose work:

    * **Distributed without CUDA**: the process group is initialised with
      gloo (mmengine's ``init_dist`` calls ``torch.cuda.set_device``) and
      the model is wrapped in
      :class:`~mmhornet.engine.CpuDistributedDataParallel`; with CUDA,
      mmengine's NCCL path runs unchanged.
    * **Clean exit**: a distributed run's process group is torn down at exit
      (:func:`~mmhornet.engine.teardown_distributed`).
    * **AMP without CUDA**: an ``AmpOptimWrapper`` config (``--amp`` of
      mmdet's, mmseg's and mmhornet's tools) becomes bfloat16 autocast
      (:class:`~mmhornet.engine.CpuAmpOptimWrapper`).
    * **Atomic checkpoints**: a ``CheckpointHook`` that names no file
      backend saves through ``atomic_local``, so a killed save never leaves
      a truncated ``iter_N.pth``.
    * **Validated auto-resume**: ``resume=True`` without ``load_from``
      resumes from the newest *complete* checkpoint
      (:func:`~mmhornet.checkpoint.find_last_complete_checkpoint`), not
      whatever ``last_checkpoint`` names.
    * **Checked test checkpoints**: ``test()`` and ``val()`` refuse a
      checkpoint for another architecture (mmengine would load what fits,
      warn, and evaluate a half-random model).
    * **Checked plugins**: g^nConv plugins on a ResNet-18 / -34 are refused
      with a message that says why (:func:`~mmhornet.models.check_plugins`).
    * **Compiling parts of a model**: ``compile=dict(modules=['backbone'],
      **torch_compile_kwargs)`` compiles those submodules in place (for
      train, val and test), where mmengine's ``compile=True`` compiles the
      whole ``train_step`` (data preprocessor, heads and losses included,
      which for detectors means graph breaks) and only for training.
      ``freeze=True`` adds inductor's freezing (weights folded into the
      compiled graph as constants, prepacked for oneDNN on CPU): for
      ``test()`` and ``val()`` of a loaded checkpoint only, and refused in
      ``train()``, whose validations would keep evaluating the weights of
      the first one.

    Safe loading (``weights_only=True`` with mmengine's checkpoint types
    allowlisted) needs no runner: importing mmhornet registers it.
    """

    _checking_shapes = False
    _modules_compiled = False

    def setup_env(self, env_cfg: Dict) -> None:
        """mmengine's set-up, with gloo when distributed without CUDA, and
        the process group torn down at exit.

        Args:
            env_cfg (dict): The config's ``env_cfg``; without CUDA its
                ``dist_cfg.backend`` is set to ``'gloo'``.
        """
        if (self.distributed and not is_distributed()
                and not torch.cuda.is_available()):
            dist_cfg = env_cfg.setdefault('dist_cfg', {})
            init_cpu_dist(
                self.launcher,
                timeout=dist_cfg.get('timeout'),
                port=dist_cfg.get('port'))
            dist_cfg['backend'] = 'gloo'
        super().setup_env(env_cfg)
        if self.distributed:
            register_teardown()

    def build_model(self, model):
        """mmengine's build, the model config's plugins checked first."""
        if isinstance(model, dict):
            check_plugins(model)
        return super().build_model(model)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: torch.nn.Module) -> torch.nn.Module:
        """mmengine's wrapping; distributed without CUDA, in
        :class:`~mmhornet.engine.CpuDistributedDataParallel`."""
        if (self.distributed and not torch.cuda.is_available()
                and not is_model_wrapper(model)):
            model_wrapper_cfg = cpu_wrapper_cfg(
                model_wrapper_cfg, self.cfg.get('find_unused_parameters',
                                                False))
        return super().wrap_model(model_wrapper_cfg, model)

    def build_optim_wrapper(self, optim_wrapper: Union[dict, object]):
        """mmengine's build, an ``AmpOptimWrapper`` config adapted to the
        machine (:func:`~mmhornet.engine.amp_for_this_machine`)."""
        return super().build_optim_wrapper(amp_for_this_machine(optim_wrapper))

    def register_hooks(self,
                       default_hooks: Optional[Dict] = None,
                       custom_hooks: Optional[list] = None) -> None:
        """mmengine's hooks; checkpoint hooks without a file backend save
        atomically."""
        super().register_hooks(default_hooks, custom_hooks)
        for hook in self.hooks:
            if isinstance(hook, CheckpointHook):
                atomic_checkpoint_hook(hook)

    def load_or_resume(self) -> None:
        """Load or resume as mmengine does; auto-resume takes the newest
        complete checkpoint, and finding none starts training afresh."""
        if not self._has_loaded and self._resume and self._load_from is None:
            self._load_from = find_last_complete_checkpoint(self.work_dir)
            if self._load_from is None:
                self.logger.info(f'Auto-resume: no complete checkpoint in '
                                 f'{self.work_dir}; starting afresh.')
                self._resume = False
        super().load_or_resume()

    @contextmanager
    def _shapes_checked(self):
        self._checking_shapes = True
        try:
            yield
        finally:
            self._checking_shapes = False

    def train(self) -> torch.nn.Module:
        """mmengine's training; a frozen compile is refused before anything
        is built, and inductor's freezing flag, if something set it
        process-wide (``TORCHINDUCTOR_FREEZING=1``), is off while training
        runs: its validations would otherwise freeze the weights they first
        see."""
        if _freezes(self.cfg.get('compile')):
            raise ValueError(_FROZEN_TRAINING)
        import torch._inductor.config as inductor_config
        if not inductor_config.freezing:
            return super().train()
        self.logger.warning(
            "inductor's freezing is on process-wide (TORCHINDUCTOR_FREEZING "
            'or torch._inductor.config.freezing); turned off while training, '
            'where a compiled validation would keep the weights it first '
            'saw.')
        with inductor_config.patch(freezing=False):
            return super().train()

    def load_checkpoint(self, filename: str, *args, **kwargs) -> dict:
        """mmengine's loading; a backbone already compiled frozen is
        compiled afresh (:func:`torch._dynamo.reset`), since it would go on
        computing with the weights it was frozen with."""
        checkpoint = super().load_checkpoint(filename, *args, **kwargs)
        if self._modules_compiled and _freezes(self.cfg.get('compile')):
            torch._dynamo.reset()
            self.logger.info(f'{filename} loaded into a frozen-compiled '
                             'model: it compiles again on its next call.')
        return checkpoint

    def _freezing(self):
        """Inductor's freezing flag set while a frozen-compiled model runs
        (its first calls trace and compile), else nothing."""
        return freezing(_freezes(self.cfg.get('compile')))

    def test(self) -> dict:
        """mmengine's test, the checkpoint checked against the model."""
        self._maybe_compile('test_step')
        with self._shapes_checked(), self._freezing():
            return super().test()

    def val(self) -> dict:
        """mmengine's val, the checkpoint checked against the model."""
        self._maybe_compile('val_step')
        with self._shapes_checked(), self._freezing():
            return super().val()

    def _maybe_compile(self, target: str) -> None:
        """``compile=dict(modules=[...], **kwargs)``: ``torch.compile`` those
        submodules in place, once; any other ``compile`` setting is
        mmengine's (``train_step`` compiled, in training only)."""
        compile_cfg = self.cfg.get('compile')
        if not isinstance(compile_cfg, dict) or 'modules' not in compile_cfg:
            if target == 'train_step':
                super()._maybe_compile(target)
            return
        if self._modules_compiled:
            return
        options = {
            k: v
            for k, v in compile_cfg.items() if k not in ('modules', 'freeze')
        }
        if _freezes(compile_cfg):
            options = frozen_compile_options(options, target)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        for name in compile_cfg['modules']:
            try:
                module = model.get_submodule(name)
            except AttributeError as e:
                raise ValueError(
                    f'compile=dict(modules=[{name!r}, ...]): the model '
                    f'({type(model).__name__}) has no submodule {name!r}; '
                    'name one of its children, e.g. '
                    f'{[n for n, _ in model.named_children()]}') from e
            module.compile(**options)
        self._modules_compiled = True
        self.logger.info(
            f"compiled {list(compile_cfg['modules'])} with torch.compile"
            f'({options}); the first iterations include compiling.')

    def call_hook(self, fn_name: str, **kwargs) -> None:
        """Call the hooks; a checkpoint loaded to test or validate is first
        checked against the model
        (:func:`~mmhornet.checkpoint.check_checkpoint_matches`)."""
        if fn_name == 'after_load_checkpoint' and self._checking_shapes:
            checkpoint = kwargs['checkpoint']
            model = self.model.module if is_model_wrapper(
                self.model) else self.model
            check_checkpoint_matches(model,
                                     checkpoint.get('state_dict', checkpoint),
                                     f'checkpoint {self._load_from!r}')
        super().call_hook(fn_name, **kwargs)
