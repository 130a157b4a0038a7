"""The hosts' own configs, for tests of configs that inherit them."""
from importlib.util import find_spec
from pathlib import Path

from mmengine import Config


def host_config(scope, path):
    """``mmdet::path`` / ``mmseg::path`` loaded from the installed host."""
    root = Path(find_spec(scope).origin).parent / '.mim' / 'configs'
    return Config.fromfile(str(root / path))


def without_scope(obj):
    """A config dict without the ``_scope_`` tags that inheriting with
    ``'mmdet::'`` adds."""
    if isinstance(obj, dict):
        return {k: without_scope(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return type(obj)(without_scope(v) for v in obj)
    return obj
