"""Safe loading, atomic saving and validated auto-resume of checkpoints.

* torch >= 2.6 loads with ``weights_only=True``: an mmengine checkpoint then
  fails on the message hub's ``HistoryBuffer`` and numpy values.
  :func:`register_safe_globals` allowlists exactly those types, so the safety
  stays on for everything else.
* mmengine writes a checkpoint straight to its final name; a run killed while
  saving leaves a truncated ``iter_N.pth``. :class:`AtomicLocalBackend`
  writes to a temporary file and renames it, and
  :func:`find_latest_checkpoint` skips anything that is not a whole
  checkpoint.
"""
import logging
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import List, Optional, Union

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

    Call it before a checkpoint is loaded (``tools/train.py`` and
    ``tools/test.py`` do). Anything outside :func:`safe_globals` is still
    refused.
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
    ``default_hooks.checkpoint.backend_args=dict(backend='atomic_local')``.
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


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


def use_atomic_checkpoints(cfg) -> bool:
    """Make the config's ``CheckpointHook`` save via AtomicLocalBackend.

    Left alone: a config without ``default_hooks.checkpoint``, a hook that
    already names a backend (``backend_args`` or ``file_client_args``, e.g. to
    save to S3), or an ``out_dir`` that is a URI.

    Args:
        cfg (mmengine.Config): The config, changed in place.

    Returns:
        bool: whether the hook now saves atomically.
    """
    hook = cfg.get('default_hooks', {}).get('checkpoint')
    if not isinstance(hook, dict) or not str(hook.get(
            'type', '')).endswith('CheckpointHook'):
        return False
    if (hook.get('backend_args') is not None
            or hook.get('file_client_args') is not None):
        return False
    if '://' in str(hook.get('out_dir') or ''):
        return False
    hook['backend_args'] = dict(backend=ATOMIC_BACKEND)
    return True


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
                return any(
                    name.endswith('data.pkl') for name in zf.namelist())
        except (zipfile.BadZipFile, OSError):
            return False
    with open(path, 'rb') as f:
        return f.read(len(_LEGACY_MAGIC)) == _LEGACY_MAGIC


def find_latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to auto-resume from, skipping partial or missing files.

    Prefers the file named in ``work_dir/last_checkpoint`` (mmengine's
    record). When that record is missing, empty or names a file that is not a
    whole checkpoint (mmengine writes the record itself non-atomically, and
    runs without :class:`AtomicLocalBackend` write checkpoints in place),
    falls back to the highest-numbered whole ``iter_N.pth`` /
    ``epoch_N.pth`` in ``work_dir``.

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
