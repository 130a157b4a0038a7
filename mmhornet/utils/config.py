"""Strict ``--cfg-options``: a mistyped key is an error, not a new setting.

mmengine's ``Config.merge_from_dict`` creates whatever key it is given, so
``model.backbone.drop_path_rat=0.3`` trains without drop path, silently. The
rule here: every dotted key path must already exist in the config (list items
by index, as mmengine allows). With ``allow_new=True`` the last component may
be new, but its parent must exist and be a dict.
"""
from typing import Any, Dict

from mmengine.config import DictAction


class ConfigOptionError(ValueError):
    """A command-line option does not fit the config (e.g. names no key)."""


def _describe(node: Any) -> str:
    if isinstance(node, dict):
        return f'existing keys: {", ".join(sorted(map(str, node)))}'
    if isinstance(node, (list, tuple)):
        return f'it is a {type(node).__name__} of {len(node)} items'
    return f'it is {node!r} ({type(node).__name__}), not a dict'


def check_cfg_option_key(cfg_dict: dict,
                         key: str,
                         allow_new: bool = False) -> None:
    """Raise :class:`ConfigOptionError` unless ``key`` names an existing entry.

    Args:
        cfg_dict (dict): The config as nested dicts and lists.
        key (str): A dotted key such as ``'model.backbone.drop_path_rate'``
            or ``'custom_hooks.0.priority'``.
        allow_new (bool): Let the last component be a new key of an existing
            dict. Defaults to False.
    """
    parts = key.split('.')
    node: Any = cfg_dict
    for depth, part in enumerate(parts):
        parent = '.'.join(parts[:depth]) or 'the config'
        is_last = depth == len(parts) - 1
        if isinstance(node, dict):
            if part in node:
                node = node[part]
                continue
            if is_last and allow_new:
                return
            hint = '; pass --cfg-options-allow-new to add it' if is_last \
                else ''
            raise ConfigOptionError(
                f'--cfg-options {key!r}: {parent} has no key {part!r}; '
                f'{_describe(node)}{hint}')
        if isinstance(node, (list, tuple)) and part.isdigit():
            if int(part) < len(node):
                node = node[int(part)]
                continue
            raise ConfigOptionError(
                f'--cfg-options {key!r}: {parent} has no item {part}; '
                f'{_describe(node)}')
        raise ConfigOptionError(
            f'--cfg-options {key!r}: {parent} cannot hold key {part!r}; '
            f'{_describe(node)}')


def merge_cfg_options(cfg,
                      options: Dict[str, Any],
                      allow_new: bool = False) -> None:
    """Check every key of ``options``, then merge them into ``cfg``.

    Args:
        cfg (mmengine.Config): The config, changed in place.
        options (dict): ``{dotted_key: value}``, as parsed by mmengine's
            ``DictAction``.
        allow_new (bool): See :func:`check_cfg_option_key`. Defaults to
            False.

    Raises:
        ConfigOptionError: naming the first key that does not exist; nothing
            is merged then.
    """
    cfg_dict = cfg.to_dict()
    for key in options:
        check_cfg_option_key(cfg_dict, key, allow_new=allow_new)
    cfg.merge_from_dict(options)


def add_cfg_options_args(parser) -> None:
    """Add ``--cfg-options`` and ``--cfg-options-allow-new`` to a parser.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config with key=value pairs, e.g. '
        'model.backbone.drop_path_rate=0.3 custom_hooks.0.priority=LOW. A '
        'list is written key="[a,b]" or key=a,b, nested lists and tuples '
        'key="[(a,b),(c,d)]"; the quotation marks are necessary and no white '
        'space is allowed. Every key path must already exist in the config: '
        'a typo is an error (plain mmengine would silently add the key); see '
        '--cfg-options-allow-new.')
    parser.add_argument(
        '--cfg-options-allow-new',
        action='store_true',
        help='let the last component of a --cfg-options key be a new key of '
        'an existing dict (e.g. model.backbone.with_cp=True when the config '
        'does not set with_cp); the keys above it must exist')
