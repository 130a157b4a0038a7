"""Engine behaviour, carried by the config: the runner mmhornet's configs
select, the CPU model and AMP wrappers, the process group's set-up and
teardown, and the layer-wise lr decay constructor. All registered in
mmhornet's registries (children of mmengine's), so configs name them as
``'mmhornet.<Name>'`` under any host."""
from .dist import init_cpu_dist, register_teardown, teardown_distributed
from .model_wrappers import CpuDistributedDataParallel, cpu_wrapper_cfg
from .optim_constructor import LayerDecayOptimWrapperConstructor
from .optim_wrappers import (CpuAmpOptimWrapper, amp_for_this_machine,
                             amp_trains_in_float32, cpu_bf16_kernels)
from .runner import RUNNER, MMHornetRunner

__all__ = [
    'CpuAmpOptimWrapper', 'CpuDistributedDataParallel',
    'LayerDecayOptimWrapperConstructor', 'MMHornetRunner', 'RUNNER',
    'amp_for_this_machine', 'amp_trains_in_float32', 'cpu_bf16_kernels',
    'cpu_wrapper_cfg', 'init_cpu_dist', 'register_teardown',
    'teardown_distributed'
]
