"""Training curves from mmengine's ``vis_data/scalars.json`` logs."""
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

Series = Dict[str, List[Tuple[int, float]]]


def load_scalars(path: str) -> Series:
    """Read mmengine's ``scalars.json`` (one JSON dict per line).

    Returns:
        dict: name -> list of (iteration/step, value), in file order. Lines
        without a ``step`` are skipped.
    """
    series: Series = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{lineno}: not JSON ({e})') from e
            step = record.get('step', record.get('iter'))
            if step is None:
                continue
            for key, value in record.items():
                if key in ('step', 'iter', 'epoch') or \
                        not isinstance(value, (int, float)):
                    continue
                series.setdefault(key, []).append((int(step), float(value)))
    return series


def find_scalars(work_dir: str) -> Optional[Path]:
    """The newest ``*/vis_data/scalars.json`` under a work dir, if any."""
    found = sorted(
        Path(work_dir).glob('*/vis_data/scalars.json'),
        key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def plot_training_curves(scalars: Series,
                         out_file: str,
                         loss_keys: Sequence[str] = ('loss', ),
                         metric_keys: Sequence[str] = (),
                         title: str = '') -> str:
    """Plot losses (left axis) and metrics (right axis) over iterations.

    Args:
        scalars (dict): From :func:`load_scalars`.
        out_file (str): PNG path.
        loss_keys (Sequence[str]): Loss series to draw.
        metric_keys (Sequence[str]): Metric series to draw (e.g.
            ``'coco/bbox_mAP'``, ``'mIoU'``).
        title (str): Figure title.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    drawn = False
    for key in loss_keys:
        if key in scalars:
            steps, values = zip(*scalars[key])
            ax.plot(steps, values, label=key, linewidth=1)
            drawn = True
    if not drawn:
        raise ValueError(f'none of the loss keys {list(loss_keys)} is in the '
                         f'log; it has {sorted(scalars)}')
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.grid(alpha=0.3)
    lines, labels = ax.get_legend_handles_labels()
    metrics = [k for k in metric_keys if k in scalars]
    if metrics:
        ax2 = ax.twinx()
        for i, key in enumerate(metrics):
            steps, values = zip(*scalars[key])
            ax2.plot(steps, values, 'o-', color=f'C{3 + i}', label=key)
        ax2.set_ylabel('metric')
        more = ax2.get_legend_handles_labels()
        lines, labels = lines + more[0], labels + more[1]
    ax.legend(lines, labels, loc='upper right', fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file)
    plt.close(fig)
    return out_file
