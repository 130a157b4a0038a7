"""The machine's own limit for a benchmark: its GEMM peak and its CPU.

A speed-up over another implementation says little once both run near what
the hardware can do. :func:`gemm_peak` measures, in the benchmark's own
process and threads, what a large matrix product achieves (GFLOP/s, fp32
and, where the CPU or GPU has it, bf16); :func:`achieved` turns a case's
FLOPs (from :mod:`mmhornet.analysis.flops`) and time into GFLOP/s and a
fraction of that peak; :class:`GemmClock` times the same product again in
every round of a case, so that a case is compared with the peak measured
beside it; :class:`GemmReplay` times a step's own matrix products alone, at
their shapes, the floor that the step's GEMMs set on this machine. FLOPs
here are real FLOPs: 2 per multiply-add.
"""
import platform
import statistics
import time
from typing import Dict, List, Optional

import torch

#: CPU flags that decide which kernels a CPU can run fast.
ISA_FLAGS = ('avx2', 'fma', 'avx512f', 'avx512_bf16', 'avx512_vnni',
             'amx_tile', 'amx_bf16')
#: Products timed together on CUDA, where one 2048^3 product takes tens of
#: microseconds, close to a synchronization's own cost.
CUDA_PRODUCTS = 20


def cpu_info() -> Dict[str, object]:
    """The CPU model and which of :data:`ISA_FLAGS` it has (Linux
    ``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    model, flags = platform.processor() or 'unknown', set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                key = key.strip()
                if key == 'model name':
                    model = value.strip()
                elif key == 'flags':
                    flags = set(value.split())
                if model != 'unknown' and flags:
                    break
    except OSError:
        pass
    return dict(model=model, isa=[f for f in ISA_FLAGS if f in flags])


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 matmuls have hardware support: a CUDA device that says
    so, or a CPU with AVX512-BF16 or AMX."""
    if device.type == 'cuda':
        return torch.cuda.is_bf16_supported()
    isa = cpu_info()['isa']
    return 'avx512_bf16' in isa or 'amx_bf16' in isa


class GemmClock:
    """The peak's matrix product, ready to be timed again and again: one
    ``n x n @ n x n`` matmul (``2 n^3`` FLOPs) per call.

    A benchmark calls it in every round of a case, beside the case's own
    steps, so that the case's fraction of the peak compares times taken
    under the same conditions (a shared VM's speed drifts by tens of percent
    over minutes).

    Args:
        dtype (torch.dtype): The product's dtype.
        device (torch.device): Where it runs.
        n (int): The matrix side. Defaults to 2048.
    """

    def __init__(self,
                 dtype: torch.dtype = torch.float32,
                 device: torch.device = torch.device('cpu'),
                 n: int = 2048) -> None:
        self.a = torch.randn(n, n, device=device).to(dtype)
        self.b = torch.randn(n, n, device=device).to(dtype)
        self.n, self.dtype, self.device = n, dtype, device
        self.flops = 2 * n**3

    def seconds(self) -> float:
        """The time of one product (on CUDA the mean of
        :data:`CUDA_PRODUCTS` between two synchronizations, which one
        product would not outlast)."""
        cuda = self.device.type == 'cuda'
        count = CUDA_PRODUCTS if cuda else 1
        if cuda:
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        for _ in range(count):
            torch.mm(self.a, self.b)
        if cuda:
            torch.cuda.synchronize(self.device)
        return (time.perf_counter() - start) / count

    def gflops(self, repeats: int = 1) -> float:
        """GFLOP/s: the median of ``repeats`` products."""
        return self.flops / statistics.median(self.seconds()
                                              for _ in range(repeats)) / 1e9


def gemm_peak(dtype: torch.dtype = torch.float32,
              device: torch.device = torch.device('cpu'),
              n: int = 2048,
              repeats: int = 5) -> Dict[str, object]:
    """GFLOP/s of an ``n x n @ n x n`` matmul (``2 n^3`` FLOPs), median of
    ``repeats`` after one warm-up, in the current thread settings.

    Returns:
        dict: ``gflops`` (the median), ``times_s``, ``n``, ``dtype``.
    """
    clock = GemmClock(dtype, device, n)
    clock.seconds()
    times: List[float] = [clock.seconds() for _ in range(repeats)]
    return dict(
        gflops=clock.flops / statistics.median(times) / 1e9,
        times_s=times,
        n=n,
        dtype=str(dtype).replace('torch.', ''))


def achieved(flops: float, median_ms: float,
             peak_gflops: Optional[float]) -> Dict[str, Optional[float]]:
    """A case's GFLOP/s and its fraction of ``peak_gflops`` (None if there
    is no peak for its dtype)."""
    gflops = flops / (median_ms * 1e-3) / 1e9
    return dict(
        gflops=gflops,
        peak_fraction=gflops / peak_gflops if peak_gflops else None)


#: The ATen matrix products a replay records (leaf ops: ``linear`` and
#: ``matmul`` call these).
GEMM_OPS = ('aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm',
            'aten::_addmm_activation')
_DTYPES = {
    'float': torch.float32,
    'double': torch.float64,
    'c10::BFloat16': torch.bfloat16,
    'c10::Half': torch.float16
}


def _gemm_flops(name: str, shapes: List[List[int]]) -> int:
    """2 x the multiply-adds of one recorded product."""
    a, b = shapes[:2] if name in ('aten::mm', 'aten::bmm') else shapes[1:3]
    batch = a[0] if len(a) == 3 else 1
    return 2 * batch * a[-2] * a[-1] * b[-1]


class GemmReplay:
    """The matrix products of one step of a model, timed alone.

    :meth:`record` runs the step once under ``torch.profiler`` and keeps
    every matrix product it made (:data:`GEMM_OPS`, forward and backward)
    with its shapes, strides and dtypes; :meth:`seconds` runs the same
    products back to back on random operands of those layouts. That time is
    a floor for the step: what its GEMMs alone take on this machine at their
    own shapes, which a small product runs far below the square peak of
    :class:`GemmClock`. Any implementation of the same model runs the same
    products (1x1 convolutions included, which oneDNN runs as GEMMs), so an
    implementation's time over the floor is what it spends beyond its
    matmuls, and another implementation's time over it bounds the speed-up
    that removing everything else could reach.

    Args:
        calls (list): ``(op name, shapes, strides, dtypes)`` per product.
        device (torch.device): Where to replay them.
    """

    def __init__(self, calls: List[tuple], device: torch.device) -> None:
        self.device = device
        self.calls = []
        self.flops = 0
        for name, shapes, strides, dtypes in calls:
            operands = [
                self._operand(shape, stride, dtype)
                for shape, stride, dtype in zip(shapes, strides, dtypes)
                if shape
            ]
            op = getattr(torch.ops.aten, name.split('::')[1])
            self.calls.append((op, operands))
            self.flops += _gemm_flops(name, shapes)

    def _operand(self, shape, stride, dtype) -> torch.Tensor:
        """Random values in the recorded layout (a transposed or expanded
        view over just the storage it spans)."""
        span = 1 + sum((n - 1) * st for n, st in zip(shape, stride) if n)
        base = torch.randn(
            span, device=self.device).to(_DTYPES.get(dtype, torch.float32))
        return base.as_strided(shape, stride)

    @classmethod
    def record(cls, step, device: torch.device) -> 'GemmReplay':
        """Record the products of one call of ``step()``."""
        from torch.profiler import ProfilerActivity, profile
        with profile(
                activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            step()
        calls = [(e.name, [list(s) for s in e.input_shapes],
                  [list(s)
                   for s in e.structured_input_strides], list(e.input_dtypes))
                 for e in prof.events() if e.name in GEMM_OPS]
        replay = cls(calls, device)
        replay.seconds()  # untimed: the operands' first touch
        return replay

    def seconds(self) -> float:
        """The time of all the products, once, back to back."""
        cuda = self.device.type == 'cuda'
        if cuda:
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        for op, operands in self.calls:
            op(*operands)
        if cuda:
            torch.cuda.synchronize(self.device)
        return time.perf_counter() - start
