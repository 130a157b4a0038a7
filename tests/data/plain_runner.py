"""Train a config with mmengine's own ``Runner.from_cfg``, as a user's
script would: ``python plain_runner.py CONFIG WORK_DIR [--resume]
[key=value ...]`` (the pairs merged into the config)."""
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

config, work_dir, *rest = sys.argv[1:]
cfg = Config.fromfile(config)
cfg.work_dir = work_dir
cfg.resume = '--resume' in rest
options = [arg for arg in rest if '=' in arg]
if options:
    cfg.merge_from_dict({
        k: DictAction._parse_iterable(v)
        for k, v in (arg.split('=', 1) for arg in options)
    })
Runner.from_cfg(cfg).train()
