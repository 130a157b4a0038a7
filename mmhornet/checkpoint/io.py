"""Checkpoint files: safe loading, atomic saving, finding the one to resume.

Importing mmhornet registers both, so they follow ``custom_imports`` into any
launcher (mmdet's / mmseg's / mmpretrain's ``tools/train.py``, ``mim train``,
a script calling ``Runner.from_cfg``):

* torch >= 2.6 loads with ``weights_only=True``; an mmengine checkpoint then
  fails on the message hub's ``HistoryBuffer`` and numpy values.
  :func:`register_safe_globals` allowlists exactly those types, so the
  safety stays on for everything else.
* mmengine writes a checkpoint straight to its final name; a run killed
  while saving leaves a truncated ``iter_N.pth``. :class:`AtomicLocalBackend`
  (``backend_args=dict(backend='atomic_local')``) writes to a temporary file
  and renames it, and :func:`find_last_complete_checkpoint` skips anything
  that is not a whole checkpoint.
"""
import logging
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer, print_log

ATOMIC_BACKEND = 'atomic_local'

# torch.save's legacy (non-zip) format starts with this pickled magic number.
_LEGACY_MAGIC = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)
_CKPT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def _history_buffer_method(obj: type, name: str):
    """Stand-in for ``getattr`` while unpickling: only HistoryBuffer methods.

    ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. Allowlisting the real ``getattr``
    would let a checkpoint reach any attribute of any allowlisted class, and
    from there arbitrary code, so ``builtins.getattr`` maps to this narrow
    function instead.

    Args:
        obj (type): What ``getattr`` is applied to; must be ``HistoryBuffer``.
        name (str): The attribute; must be a registered statistics method.

    Returns:
        Callable: ``HistoryBuffer.<name>``.
    """
    allowed = {'min', 'max', 'current', 'mean'} | set(
        HistoryBuffer._statistics_methods)
    if obj is not HistoryBuffer or name not in allowed:
        raise pickle.UnpicklingError(
            f'weights_only load: getattr({obj!r}, {name!r}) is not allowed; '
            f'only HistoryBuffer statistics methods {sorted(allowed)} are')
    return getattr(obj, name)


def safe_globals() -> List[Union[type, tuple]]:
    """The globals mmengine checkpoints need beyond torch's default allowlist.

    Found by saving a checkpoint with mmengine 0.10.7's ``Runner`` and
    listing what ``weights_only=True`` refuses
    (``torch.serialization.get_unsafe_globals_in_checkpoint``, then the
    classes of the objects those build). numpy 1.x writes ``numpy.core``,
    numpy 2.x ``numpy._core``; both names are mapped.

    Returns:
        list: classes and functions, or ``(object, 'module.name')`` pairs,
        for :func:`torch.serialization.add_safe_globals`.
    """
    core = np._core if hasattr(np, '_core') else np.core
    multiarray = core.multiarray
    items: List[Union[type, tuple]] = [HistoryBuffer, np.ndarray, np.dtype]
    for module in ('numpy.core', 'numpy._core'):
        items.append(
            (multiarray._reconstruct, f'{module}.multiarray._reconstruct'))
        items.append((multiarray.scalar, f'{module}.multiarray.scalar'))
    # np.dtype(...) returns an instance of a per-dtype class (numpy >= 1.25),
    # which the unpickler must accept before it sets the instance's state.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items.extend(getattr(dtypes, name) for name in dtypes.__all__)
    items.append((_history_buffer_method, 'builtins.getattr'))
    return items


def register_safe_globals() -> None:
    """Allow ``torch.load(weights_only=True)`` to read mmengine checkpoints.

    Importing mmhornet calls it; anything outside :func:`safe_globals` is
    still refused.
    """
    torch.serialization.add_safe_globals(safe_globals())


class AtomicLocalBackend(LocalBackend):
    """A local file backend whose writes are all-or-nothing.

    mmengine's ``save_checkpoint`` serialises the checkpoint to bytes and
    hands them to the file backend's ``put``. Writing them to
    ``<path>.<pid>.tmp``, syncing, and renaming with :func:`os.replace`
    (atomic on POSIX) means ``<path>`` is either absent or complete, even when
    the process is killed mid-save.

    A file backend, rather than a Runner or CheckpointHook subclass, is the
    least invasive seam: it composes with any runner type and any
    ``CheckpointHook`` (``save_best`` and ``max_keep_ckpts`` included), and a
    config opts in with
    ``default_hooks.checkpoint.backend_args=dict(backend='atomic_local')``
    (mmhornet's ``_base_/default_runtime.py`` does, and
    :class:`~mmhornet.engine.MMHornetRunner` for any hook that names no
    backend: :func:`atomic_checkpoint_hook`).
    """

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        """Write ``obj`` to ``filepath`` atomically.

        Args:
            obj (bytes): Data to be written.
            filepath (str | os.PathLike): Destination; its folder is created
                if needed.
        """
        self._atomic_write(obj, str(filepath))

    def put_text(self,
                 obj: str,
                 filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): Text to be written.
            filepath (str | os.PathLike): Destination; its folder is created
                if needed.
            encoding (str): Text encoding. Defaults to 'utf-8'.
        """
        self._atomic_write(obj.encode(encoding), str(filepath))

    @staticmethod
    def _atomic_write(data: bytes, filepath: str) -> None:
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        tmp = f'{filepath}.{os.getpid()}.tmp'
        try:
            with open(tmp, 'wb') as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise
        # Persist the rename too, so a power loss cannot bring back the old
        # directory entry.
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_checkpoint_hook(hook) -> bool:
    """Make a built ``CheckpointHook`` save with :class:`AtomicLocalBackend`.

    Left alone: a hook that names a file backend (``backend_args`` or
    ``file_client_args``, e.g. to save to S3) or whose ``out_dir`` is a URI.
    The hook makes its file backend in ``before_train``, so this takes
    effect when called after the hook is built and before training.

    Args:
        hook (mmengine.hooks.CheckpointHook): The hook, changed in place.

    Returns:
        bool: whether the hook saves atomically.
    """
    if hook.backend_args is not None or hook.file_client_args is not None:
        return hook.backend_args == dict(backend=ATOMIC_BACKEND)
    if '://' in str(hook.out_dir or ''):
        return False
    hook.backend_args = dict(backend=ATOMIC_BACKEND)
    return True


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model it is loaded into."""


def is_checkpoint_file(path: str) -> bool:
    """Whether ``path`` is a complete file in one of ``torch.save``'s formats.

    Cheap: reads the zip directory at the end of the file (what a truncated
    write lacks) or the legacy header, not the tensors.

    Args:
        path (str): A local file path.

    Returns:
        bool: True for a whole torch checkpoint.
    """
    if not osp.isfile(path) or osp.getsize(path) == 0:
        return False
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                return any(name.endswith('data.pkl') for name in zf.namelist())
        except (zipfile.BadZipFile, OSError):
            return False
    with open(path, 'rb') as f:
        return f.read(len(_LEGACY_MAGIC)) == _LEGACY_MAGIC


def find_last_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to auto-resume from, skipping partial or missing files.

    Unlike mmengine's ``find_latest_checkpoint``, which returns whatever
    ``work_dir/last_checkpoint`` names, the file is checked: when that record
    is missing, empty or names a file that is not a whole checkpoint
    (mmengine writes the record non-atomically, and runs without
    :class:`AtomicLocalBackend` write checkpoints in place), the
    highest-numbered whole ``iter_N.pth`` / ``epoch_N.pth`` in ``work_dir``
    is taken.

    Args:
        work_dir (str): The run's work directory.

    Returns:
        str | None: the checkpoint path, or None when there is none.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        with open(record) as f:
            recorded = f.read().strip()
        if recorded and is_checkpoint_file(recorded):
            return recorded
        print_log(
            f'{record} names {recorded!r}, which is not a complete '
            f'checkpoint; looking for the newest complete one in {work_dir}',
            logger='current',
            level=logging.WARNING)
    if not osp.isdir(work_dir):
        return None
    numbered = []
    for name in os.listdir(work_dir):
        match = _CKPT_NAME.match(name)
        if match:
            numbered.append((int(match.group(1)), osp.join(work_dir, name)))
    for _, path in sorted(numbered, reverse=True):
        if is_checkpoint_file(path):
            return path
        print_log(
            f'skipping incomplete checkpoint {path}',
            logger='current',
            level=logging.WARNING)
    return None


def strip_prefix(state_dict: Dict[str, torch.Tensor],
                 prefix: str = 'module.') -> Dict[str, torch.Tensor]:
    """``state_dict`` with ``prefix`` removed where a key starts with it
    (``module.``: what ``DistributedDataParallel`` adds)."""
    return {
        (k[len(prefix):] if k.startswith(prefix) else k): v
        for k, v in state_dict.items()
    }


def shape_mismatches(model_state: Dict[str, torch.Tensor],
                     state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """``'key: checkpoint (..) vs model (..)'`` for every shared key whose
    tensors differ in shape."""
    return [
        f'{k}: checkpoint {tuple(v.shape)} vs model '
        f'{tuple(model_state[k].shape)}' for k, v in state_dict.items()
        if k in model_state and isinstance(v, torch.Tensor)
        and v.shape != model_state[k].shape
    ]


def check_checkpoint_matches(model: torch.nn.Module,
                             state_dict: dict,
                             source: str = 'checkpoint') -> None:
    """Raise ``ValueError`` when a checkpoint is for another architecture.

    mmengine's loader skips shape-mismatched tensors with a warning, which
    for testing means evaluating a half-random model.
    :class:`~mmhornet.engine.MMHornetRunner` runs this check before it loads
    a checkpoint to test or validate.

    Args:
        model (nn.Module): The model to be loaded (unwrapped).
        state_dict (dict): The checkpoint's state dict (``state_dict`` key
            or the top level).
        source (str): How to name the checkpoint in the message.

    Raises:
        CheckpointMismatchError: listing every mismatched key with both
        shapes, or saying that no key or too few keys match.
    """
    own = model.state_dict()
    state_dict = strip_prefix(state_dict)
    common = [k for k in own if k in state_dict]
    if not common:
        raise CheckpointMismatchError(
            f'{source} shares no parameter names with this '
            f'{type(model).__name__} (its keys look like '
            f'{list(state_dict)[:3]}; the model\'s like {list(own)[:3]}): it '
            f'is for another model.')
    mismatched = shape_mismatches(own, state_dict)
    if mismatched:
        raise CheckpointMismatchError(
            f'{source} is for another architecture: {len(mismatched)} '
            f'tensors differ in shape:\n  ' + '\n  '.join(mismatched))
    missing = [k for k in own if k not in state_dict]
    if len(missing) > len(own) // 2:
        raise CheckpointMismatchError(
            f'{source} lacks {len(missing)} of the model\'s {len(own)} '
            f'tensors (e.g. {missing[:5]}): it is for another model.')


# Registrations, like the models': importing mmhornet makes every launcher
# read mmengine checkpoints safely and offers the atomic backend.
register_safe_globals()
register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
