"""What the benchmarks report of a list of timings."""
import statistics
from typing import Dict, Sequence


def summarize(times: Sequence[float]) -> Dict[str, object]:
    """Median, quartiles (inclusive method), min and max of ``times``, and
    the sorted times themselves."""
    times = sorted(times)
    if len(times) >= 2:
        q1, _, q3 = statistics.quantiles(times, n=4, method='inclusive')
    else:
        q1 = q3 = times[0]
    return dict(
        median=statistics.median(times),
        p25=q1,
        p75=q3,
        min=times[0],
        max=times[-1],
        times=times)
