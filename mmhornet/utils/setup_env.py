"""Host-dependent pieces of ``tools/train.py`` and ``tools/test.py``.

One pair of scripts serves mmdet, mmseg and mmpretrain configs (and plain
mmengine ones, which the tests use): the host is the config's
``default_scope``, and where the hosts' own tools differ (``--show``,
``--out``) each host's behaviour is kept.
"""
import importlib
import os.path as osp
from typing import Optional

from .config import ConfigOptionError

HOSTS = ('mmdet', 'mmseg', 'mmpretrain')
_PLAIN_SCOPES = (None, 'mmengine')


def init_host(cfg) -> Optional[str]:
    """Register the modules of the host named by ``cfg.default_scope``.

    Args:
        cfg (mmengine.Config): The loaded config.

    Returns:
        str | None: ``'mmdet'``, ``'mmseg'`` or ``'mmpretrain'``; None for
        an mmengine config.
    """
    scope = cfg.get('default_scope')
    if scope in _PLAIN_SCOPES:
        return None
    if scope not in HOSTS:
        raise ConfigOptionError(
            f'default_scope={scope!r} is not supported: these tools serve '
            f'{", ".join(HOSTS)} and plain mmengine configs')
    host_utils = importlib.import_module(f'{scope}.utils')
    host_utils.register_all_modules(init_default_scope=False)
    if scope == 'mmdet':
        # As mmdet's tools: cap torch.compile's recompilations.
        host_utils.setup_cache_size_limit_of_dynamo()
    return scope


def set_work_dir(cfg, work_dir: Optional[str], config_path: str) -> str:
    """Set the work dir: the CLI's, else the config's, else
    ``./work_dirs/<config name>``.

    Args:
        cfg (mmengine.Config): The config, changed in place.
        work_dir (str, optional): ``--work-dir``.
        config_path (str): The config file.

    Returns:
        str: ``cfg.work_dir``.
    """
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(config_path))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    return cfg.work_dir


def enable_amp(cfg) -> str:
    """``--amp``, as mmdet's and mmseg's tools write it: an
    ``AmpOptimWrapper`` with dynamic loss scaling.

    :class:`~mmhornet.engine.MMHornetRunner` builds it as bfloat16 autocast
    on a machine without CUDA.

    Args:
        cfg (mmengine.Config): The config, changed in place.

    Returns:
        str: the optim wrapper type now in the config.
    """
    wrapper = cfg.get('optim_wrapper')
    if not isinstance(wrapper, dict):
        raise ConfigOptionError('--amp needs an `optim_wrapper` in the config')
    if wrapper.get('type', 'OptimWrapper') not in ('AmpOptimWrapper',
                                                   'mmengine.AmpOptimWrapper'):
        wrapper['type'] = 'AmpOptimWrapper'
        wrapper['loss_scale'] = 'dynamic'
    return wrapper['type']


def enable_auto_scale_lr(cfg) -> None:
    """Turn ``auto_scale_lr`` on; the config must state its base batch size.

    Args:
        cfg (mmengine.Config): The config, changed in place.
    """
    scale = cfg.get('auto_scale_lr')
    if not isinstance(scale, dict) or 'base_batch_size' not in scale:
        raise ConfigOptionError(
            '--auto-scale-lr needs auto_scale_lr=dict(enable=False, '
            'base_batch_size=...) in the config: the batch size its lr is '
            'for')
    scale['enable'] = True


def apply_show_args(cfg, host: Optional[str], show: bool,
                    show_dir: Optional[str], wait_time: float) -> None:
    """Turn on the host's ``VisualizationHook`` as its ``test.py`` does.

    mmdet saves the painted images to the hook's ``test_out_dir``, mmseg to
    the visualizer's ``save_dir``, mmpretrain to the hook's ``out_dir``.

    Args:
        cfg (mmengine.Config): The config, changed in place.
        host (str | None): From :func:`init_host`.
        show (bool): Display the results in a window.
        show_dir (str, optional): Folder for the painted images.
        wait_time (float): Seconds each window is shown.
    """
    if not (show or show_dir):
        return
    hook = cfg.get('default_hooks', {}).get('visualization')
    if host is None or hook is None:
        raise ConfigOptionError(
            '--show/--show-dir need a host config with default_hooks.'
            "visualization=dict(type='VisualizationHook')")
    if host == 'mmpretrain':
        hook.update(
            enable=True, show=show, wait_time=wait_time, out_dir=show_dir)
        return
    hook['draw'] = True
    if show:
        hook.update(show=True, wait_time=wait_time)
    if show_dir and host == 'mmdet':
        hook['test_out_dir'] = show_dir
    elif show_dir:
        cfg.visualizer['save_dir'] = show_dir


def apply_out_arg(cfg, runner, host: Optional[str],
                  out: Optional[str]) -> None:
    """Save the test results as the host's own ``test.py --out`` does.

    mmdet and mmpretrain (and plain mmengine configs) dump the predictions to
    a pickle file; mmseg writes the predicted masks into the folder ``out``.
    Call it once before the runner is built (``runner=None``: checks ``out``,
    sets mmseg's evaluator) and once after (adds the dump metric).

    Args:
        cfg (mmengine.Config): The config, changed in place.
        runner (mmengine.runner.Runner | None): The runner, once built.
        host (str | None): From :func:`init_host`.
        out (str, optional): ``--out``.
    """
    if out is None:
        return
    if host == 'mmseg':
        if runner is None:
            cfg.test_evaluator['output_dir'] = out
            cfg.test_evaluator['keep_results'] = True
        return
    if runner is None:
        if not out.endswith(('.pkl', '.pickle')):
            raise ConfigOptionError(
                f'--out {out!r}: the dump file must end with .pkl or .pickle')
        return
    if host == 'mmdet':
        from mmdet.evaluation import DumpDetResults as Dump
    else:
        from mmengine.evaluator import DumpResults as Dump
    runner.test_evaluator.metrics.append(Dump(out_file_path=out))
