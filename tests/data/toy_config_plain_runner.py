# The toy config as a user's own script would run it: mmengine's plain
# Runner.from_cfg, with mmhornet brought in by custom_imports alone.
_base_ = ['./toy_config.py']
custom_imports = dict(
    imports=['mmhornet', 'toy_modules'], allow_failed_imports=False)
