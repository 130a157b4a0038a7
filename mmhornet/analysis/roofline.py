"""The machine's own limit for a benchmark: its GEMM peak and its CPU.

A speed-up over another implementation says little once both run near what
the hardware can do. :func:`gemm_peak` measures, in the benchmark's own
process and threads, what a large matrix product achieves (GFLOP/s, fp32
and, where the CPU or GPU has it, bf16); :func:`achieved` turns a case's
FLOPs (from :mod:`mmhornet.analysis.flops`) and time into GFLOP/s and a
fraction of that peak. FLOPs here are real FLOPs: 2 per multiply-add.
"""
import platform
import statistics
import time
from typing import Dict, List, Optional

import torch

#: CPU flags that decide which kernels a CPU can run fast.
ISA_FLAGS = ('avx2', 'fma', 'avx512f', 'avx512_bf16', 'avx512_vnni',
             'amx_tile', 'amx_bf16')


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


def gemm_peak(dtype: torch.dtype = torch.float32,
              device: torch.device = torch.device('cpu'),
              n: int = 2048,
              repeats: int = 5) -> Dict[str, object]:
    """GFLOP/s of an ``n x n @ n x n`` matmul (``2 n^3`` FLOPs), median of
    ``repeats`` after one warm-up, in the current thread settings.

    Returns:
        dict: ``gflops`` (the median), ``times_s``, ``n``, ``dtype``.
    """
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    times: List[float] = []
    for i in range(repeats + 1):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        torch.mm(a, b)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        if i:
            times.append(time.perf_counter() - start)
    return dict(
        gflops=2 * n**3 / statistics.median(times) / 1e9,
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
