"""Load HorNet weights from any of the published formats.

Formats, detected from the keys (timm-style: an explicit rename table, and a
no-op for weights already in mmhornet's format):

1. official ImageNet checkpoints (github.com/raoyongming/HorNet):
   ``{'model': ..., 'model_ema': ...}`` with
   ``stages.2.5.gnconv.pws.0.weight``, ``stages.0.0.gamma1``, a final
   ``norm.*`` over pooled features, ``head.*``;
2. official mmdet / mmseg fine-tuned checkpoints: ``{'state_dict': ...}`` with
   ``backbone.``-prefixed keys (``pws``, ``gammaX``) and ``backbone.norm0..3``;
3. mmpretrain checkpoints: ``backbone.…gnconv.projs…``, ``gamma1.weight``,
   ``head.fc.*``;
4. mmhornet's own (the same names as mmpretrain's backbone).

mmhornet keeps mmpretrain's parameter names and shapes, so formats 3 and 4
need only the prefix stripped.
"""
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple
from urllib.error import URLError

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import CheckpointLoader

from mmhornet.layers.gnconv import resize_filter
from .io import is_checkpoint_file, shape_mismatches, strip_prefix

#: (pattern, replacement) applied in order to official key names.
OFFICIAL_RENAMES: List[Tuple[str, str]] = [
    (r'\.gnconv\.pws\.', '.gnconv.projs.'),
    (r'^(stages\.\d+\.\d+\.gamma[12])$', r'\1.weight'),
    # The official classifier's final norm acts on pooled features; it is
    # mmpretrain's (and mmhornet's) stage-3 output norm.
    (r'^norm\.(weight|bias)$', r'norm3.\1'),
]

HOW_TO_GET_WEIGHTS = (
    'Get HorNet ImageNet weights from mmpretrain\'s model zoo (its HorNet '
    'metafile lists the checkpoint URLs) or from the official HorNet '
    'releases (github.com/raoyongming/HorNet), and point '
    'model.backbone.init_cfg.checkpoint at the file; or train from scratch '
    'with --cfg-options model.backbone.init_cfg=None.')


def _logger() -> MMLogger:
    return MMLogger.get_current_instance()


def _unsafe_globals(filename: str) -> List[str]:
    """The Python objects beyond tensors that a local checkpoint pickles."""
    if not osp.isfile(filename):
        return []
    try:
        return torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except (RuntimeError, ValueError, pickle.UnpicklingError):
        return []


def load_checkpoint_file(filename: str, map_location: str = 'cpu') -> dict:
    """Read a checkpoint (local path or URL) with torch's safe loader.

    Raises:
        FileNotFoundError: the file is missing (the message says where to get
            weights).
        RuntimeError: a URL could not be fetched.
        ValueError: the file is not a checkpoint, or holds Python objects the
            safe (``weights_only``) loader refuses.
    """
    if osp.isfile(filename) and not is_checkpoint_file(filename):
        raise ValueError(
            f'{filename!r} is not a complete PyTorch checkpoint (neither a '
            f'whole torch.save zip archive nor a legacy torch.save file).')
    try:
        ckpt = CheckpointLoader.load_checkpoint(
            filename, map_location=map_location)
    except FileNotFoundError as e:
        raise FileNotFoundError(
            f'HorNet checkpoint not found: {filename!r} ({e}). '
            f'{HOW_TO_GET_WEIGHTS}') from e
    except (URLError, ConnectionError, TimeoutError) as e:
        raise RuntimeError(
            f'Could not download HorNet weights from {filename!r}: {e}. '
            f'Without network access, download the file elsewhere and put '
            f'it in the torch hub cache (~/.cache/torch/hub/checkpoints/) or '
            f'name its local path. {HOW_TO_GET_WEIGHTS}') from e
    except pickle.UnpicklingError as e:
        found = _unsafe_globals(filename)
        what = (f'these Python objects besides tensors: {", ".join(found)}'
                if found else 'Python objects besides tensors')
        raise ValueError(
            f'{filename!r} holds {what}. mmhornet reads checkpoints with '
            f'torch\'s safe loader (weights_only=True), which loads no '
            f'such objects, because unpickling them can run any code. If you '
            f'trust the file, convert it once: python tools/model_converters'
            f'/hornet2mmhornet.py {filename} OUT.pth --trust-source, then '
            f'load OUT.pth.') from e
    except (RuntimeError, EOFError) as e:
        # torch.load's errors for truncated or foreign zip files.
        raise ValueError(
            f'{filename!r} is not a PyTorch checkpoint: {e}') from e
    if not isinstance(ckpt, dict):
        raise ValueError(f'{filename!r} is not a checkpoint dict (got '
                         f'{type(ckpt).__name__}).')
    return ckpt


def unwrap_state_dict(ckpt: dict, use_ema: bool = False) -> Tuple[dict, str]:
    """The state dict inside a checkpoint and where it was found.

    Args:
        ckpt (dict): A loaded checkpoint.
        use_ema (bool): Take an official checkpoint's ``model_ema``.
            Defaults to False.

    Returns:
        tuple: the state dict and its key (``'state_dict'``, ``'model'``,
        ``'module'``, ``'model_ema'`` or ``'top level'``).
    """
    if use_ema:
        if 'model_ema' not in ckpt:
            raise KeyError("use_ema=True but the checkpoint has no "
                           f"'model_ema'; its keys: {sorted(ckpt)[:10]}")
        return ckpt['model_ema'], 'model_ema'
    for key in ('state_dict', 'model', 'module'):
        if key in ckpt and isinstance(ckpt[key], dict):
            return ckpt[key], key
    if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return ckpt, 'top level'
    raise ValueError(
        "no state dict found in the checkpoint: expected 'state_dict' "
        "(mmdet/mmseg/mmpretrain/mmhornet), 'model' (official ImageNet) or a "
        f'plain dict of tensors; its keys: {sorted(ckpt)[:10]}')


def detect_format(state_dict: Dict[str, torch.Tensor]) -> str:
    """Name the format of a (prefix-stripped) HorNet state dict:
    ``'official'`` (``pws`` / bare ``gammaX`` keys) or ``'mmpretrain'``
    (mmpretrain's and mmhornet's names)."""
    for key in state_dict:
        if '.gnconv.pws.' in key or re.search(r'\.gamma[12]$', key):
            return 'official'
    return 'mmpretrain'


def convert_hornet_state_dict(
    state_dict: Dict[str, torch.Tensor],
    prefix: Optional[str] = None
) -> Tuple['OrderedDict[str, torch.Tensor]', str]:
    """Convert a HorNet state dict of any format to mmhornet's backbone keys.

    Args:
        state_dict (dict): Keys as saved (any of the four formats).
        prefix (str, optional): Keep only keys with this prefix and strip it
            (e.g. ``'backbone.'``). None picks ``'backbone.'`` when such keys
            exist (detector / segmentor / classifier checkpoints), else ''.

    Returns:
        tuple: the converted state dict (backbone keys only; classifier heads
        dropped) and the detected source format.
    """
    state_dict = OrderedDict(strip_prefix(state_dict))
    if prefix is None:
        prefix = 'backbone.' if any(
            k.startswith('backbone.') for k in state_dict) else ''
    if prefix:
        stripped = OrderedDict((k[len(prefix):], v)
                               for k, v in state_dict.items()
                               if k.startswith(prefix))
        if not stripped:
            raise ValueError(
                f'no checkpoint key starts with prefix {prefix!r}; keys look '
                f'like {list(state_dict)[:3]}. Pass the right prefix (or '
                f'none).')
        state_dict = stripped
    fmt = detect_format(state_dict)
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('head.'):
            continue
        if fmt == 'official':
            for pattern, repl in OFFICIAL_RENAMES:
                key = re.sub(pattern, repl, key)
        out[key] = value
    return out, fmt


def resize_gf_filter(weight: torch.Tensor, size: Tuple[int,
                                                       int]) -> torch.Tensor:
    """Resize a GF ``complex_weight`` ``(C, h, w, 2)`` to ``(C, *size, 2)``
    in its dtype, as the layer resizes it at run time
    (:func:`~mmhornet.layers.gnconv.resize_filter`)."""
    return resize_filter(weight, size).to(weight.dtype).contiguous()


def match_state_dict(
    model: nn.Module,
    state_dict: Dict[str, torch.Tensor],
    source: str = 'checkpoint'
) -> Tuple['OrderedDict[str, torch.Tensor]', List[str], List[str]]:
    """Fit a converted state dict to ``model``.

    GF filters of another size are resized; any other shape mismatch is an
    error listing every mismatched key.

    Returns:
        tuple: (state dict to load, missing keys, unexpected keys).
    """
    own = model.state_dict()
    fitted = OrderedDict()
    for key, value in state_dict.items():
        if key not in own:
            continue
        target = own[key].shape
        if value.shape != target and key.endswith('complex_weight') and \
                value.ndim == 4 and value.shape[0] == target[0] and \
                value.shape[3] == 2:
            _logger().info(
                f'Resizing GF filter {key} from {tuple(value.shape[1:3])} to '
                f'{tuple(target[1:3])}.')
            value = resize_gf_filter(value, target[1:3])
        fitted[key] = value
    mismatched = shape_mismatches(own, fitted)
    if mismatched:
        raise ValueError(
            f'{source} does not fit this HorNet ({len(mismatched)} shape '
            f'mismatches; is it another arch?):\n  ' + '\n  '.join(mismatched))
    missing = [k for k in own if k not in fitted]
    unexpected = [k for k in state_dict if k not in own]
    return fitted, missing, unexpected


def load_hornet_pretrained(
        model: nn.Module,
        checkpoint: str,
        prefix: Optional[str] = None,
        map_location: str = 'cpu',
        use_ema: bool = False,
        allow_missing: bool = True) -> Tuple[List[str], List[str]]:
    """Load HorNet weights of any supported format into ``model``.

    Args:
        model (nn.Module): A :class:`~mmhornet.models.HorNet`.
        checkpoint (str): Path or URL.
        prefix (str, optional): See :func:`convert_hornet_state_dict`.
        map_location (str): Defaults to 'cpu'.
        use_ema (bool): Take an official checkpoint's ``model_ema``.
            Defaults to False.
        allow_missing (bool): If False, missing keys are an error. Keys that
            the source format cannot have (e.g. ``norm0..2`` from an ImageNet
            classifier) are always logged. Defaults to True.

    Returns:
        tuple[list[str], list[str]]: missing and unexpected keys.
    """
    ckpt = load_checkpoint_file(checkpoint, map_location)
    state_dict, where = unwrap_state_dict(ckpt, use_ema)
    state_dict, fmt = convert_hornet_state_dict(state_dict, prefix)
    fitted, missing, unexpected = match_state_dict(
        model, state_dict, source=f'checkpoint {checkpoint!r}')
    if not fitted:
        raise ValueError(
            f'checkpoint {checkpoint!r} has no HorNet backbone weights '
            f'(keys look like {list(state_dict)[:3]}).')
    if missing and not allow_missing:
        raise ValueError(f'checkpoint {checkpoint!r} lacks {len(missing)} '
                         f'keys: {missing}')
    model.load_state_dict(fitted, strict=False)
    logger = _logger()
    logger.info(f'Loaded {len(fitted)} HorNet tensors from {checkpoint} '
                f'({fmt} format, {where!r}).')
    if missing:
        logger.warning(f'Keys missing from {checkpoint} (kept at their '
                       f'init): {", ".join(missing)}')
    if unexpected:
        logger.warning(f'Keys in {checkpoint} this model does not have '
                       f'(ignored): {", ".join(unexpected)}')
    return missing, unexpected
