# mmhornet's part of a run's runtime, added beside a host's
# default_runtime.py (mmdet's, mmseg's or mmpretrain's): importing mmhornet,
# and its runner (gloo and bfloat16 AMP without CUDA, atomic checkpoints, a
# validated auto-resume, checked test checkpoints, a clean exit; see
# mmhornet/engine/runner.py). Every config in configs/ inherits it.
custom_imports = dict(imports=['mmhornet'], allow_failed_imports=False)
runner_type = 'mmhornet.MMHornetRunner'
