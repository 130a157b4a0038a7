"""Plugins for the hosts' backbones (mmcv's ``build_plugin_layer``)."""
from .gnconv_plugin import GnConvPlugin, check_plugins

__all__ = ['GnConvPlugin', 'check_plugins']
