"""mmhornet's main job, end to end, on the built-in demo data.

1. generates the demo scene dataset (COCO and ADE20K formats) if missing;
2. trains Cascade Mask R-CNN (HorNet + g^nConv FPN) on it, evaluates it with
   mmdet's CocoMetric (bbox, segm) and draws predictions on val images;
3. trains UPerNet (HorNet) on it, evaluates mIoU with mmseg's IoUMetric and
   draws segmentation overlays;
4. plots the training curves, writes one summary figure per task (image,
   ground truth and prediction of a few val images, the metric in the title)
   and prints a summary: the seed, each metric against its target, the
   minutes per task and phase, and where everything is.

Training is seeded (the demo configs' ``randomness``, seed 0): the same seed
gives the same run on a CPU.

Example:
    python tools/demo.py                           # the whole job
    python tools/demo.py --seed 3                  # another seed
    python tools/demo.py --tasks det --iters 20    # a quick look
    python tools/demo.py --amp                     # bf16 autocast on a CPU
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TASKS = {
    'det':
    dict(
        config='configs/demo/cascade-mask-rcnn_hornet-demo_horfpn_demo.py',
        data_key='coco_root',
        val_images='val',
        metrics=('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP'),
        target=('coco/bbox_mAP', 0.30),
        losses=('loss', 's0.loss_bbox', 's0.loss_mask', 'loss_rpn_cls')),
    'seg':
    dict(
        config='configs/demo/upernet_hornet-demo_demo.py',
        data_key='ade_root',
        val_images='images/validation',
        metrics=('mIoU', 'aAcc', 'mAcc'),
        target=('mIoU', 50.0),
        losses=('loss', 'decode.loss_ce', 'aux.loss_ce')),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train and evaluate mmhornet on the demo data.')
    parser.add_argument(
        '--data',
        default='data/demo',
        help='demo data folder (made if missing)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--tasks', nargs='+', default=['det', 'seg'], choices=sorted(TASKS))
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        help='override the training iterations (quick runs)')
    parser.add_argument(
        '--num-train',
        type=int,
        default=None,
        help='demo train images (default: generator default)')
    parser.add_argument('--num-val', type=int, default=None)
    parser.add_argument(
        '--seed',
        type=int,
        default=None,
        help="training seed (default: the demo configs' randomness.seed, 0)")
    parser.add_argument(
        '--amp',
        action='store_true',
        help="train with tools/train.py's --amp (fp16 on CUDA, bf16 "
        'autocast on a CPU with bf16 kernels, fp32 on one without)')
    return parser.parse_args(argv)


def last_metrics(work_dir: Path, keys):
    """Metrics of the newest run's last validation, from scalars.json."""
    from mmhornet.visualization.curves import find_scalars, load_scalars
    path = find_scalars(str(work_dir))
    if path is None:
        return {}, None
    scalars = load_scalars(str(path))
    return {k: scalars[k][-1][1] for k in keys if k in scalars}, path


def val_iterations(spec, root):
    """Iterations of one validation: the val images over the config's val
    batch size."""
    from mmengine import Config

    # Only a value is read: the config's custom modules need no import.
    cfg = Config.fromfile(
        str(ROOT / spec['config']), import_custom_modules=False)
    batch = cfg.val_dataloader.batch_size
    images = sum(1 for _ in Path(root, spec['val_images']).glob('*.jpg'))
    return -(-images // batch)


def phase_seconds(scalars_path, metric, val_iters, wall):
    """Where a training run's wall time went, from its ``scalars.json``: the
    train iterations (each logged mean ``time`` stands for the iterations
    since the previous log), the validation (its mean ``time`` per
    iteration times the iterations) and the rest (start-up and imports,
    building, data loading set-up, checkpointing)."""
    train = val = 0.
    last = 0
    for line in Path(scalars_path).read_text().splitlines():
        record = json.loads(line)
        if 'lr' in record and record['step'] > last:
            train += record['time'] * (record['step'] - last)
            last = record['step']
        elif metric in record:
            val += record['time'] * val_iters
    return dict(train=train, val=val, rest=max(wall - train - val, 0.))


def train_command(name, spec, args, root):
    """The ``tools/train.py`` command that trains task ``name`` on the demo
    data under ``root`` (its folder, ending in ``/``)."""
    cmd = [
        sys.executable,
        str(ROOT / 'tools/train.py'), spec['config'], '--work-dir',
        str(Path(args.work_dir) / name)
    ]
    if args.amp:
        cmd.append('--amp')
    options = [
        f'{split}_dataloader.dataset.data_root={root}'
        for split in ('train', 'val', 'test')
    ]
    if name == 'det':
        ann = root + 'annotations/instances_val.json'
        options += [
            f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}'
        ]
    if args.iters:
        options += [
            f'train_cfg.max_iters={args.iters}',
            f'train_cfg.val_interval={args.iters}'
        ]
    if args.seed is not None:
        options.append(f'randomness.seed={args.seed}')
    return cmd + ['--cfg-options', *options]


def run_task(name, spec, args, data_paths):
    from mmhornet.visualization import load_scalars, plot_training_curves
    from mmhornet.visualization.summary import last_step_pictures, summary_grid
    work_dir = Path(args.work_dir) / name
    root = str(data_paths[spec['data_key']]).rstrip('/') + '/'
    cmd = train_command(name, spec, args, root)
    print(f'\n=== {name}: {" ".join(cmd)}', flush=True)
    start = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    wall = time.time() - start
    metrics, scalars_path = last_metrics(work_dir, spec['metrics'])
    curve = None
    phases = dict(total=wall)
    if scalars_path is not None:
        phases = phase_seconds(scalars_path, spec['target'][0],
                               val_iterations(spec, root), wall)
        curve = plot_training_curves(
            load_scalars(str(scalars_path)),
            str(work_dir / 'training_curve.png'),
            loss_keys=spec['losses'],
            metric_keys=spec['metrics'][:1],
            title=f'{name}: {Path(spec["config"]).stem}')
    pictures = sorted(work_dir.glob('*/vis_data/vis_image/*.png'))
    key, goal = spec['target']
    figure = None
    shown = last_step_pictures([str(p) for p in pictures])
    if shown:
        got = metrics.get(key)
        figure = summary_grid(
            shown, [root + spec['val_images']],
            str(work_dir / f'summary_{name}.png'),
            title=f'{name}: {key} = '
            f'{"n/a" if got is None else f"{got:.3f}"} (target {goal}), '
            f'seed {args.seed if args.seed is not None else 0}')
    return dict(
        task=name,
        seed=args.seed if args.seed is not None else 0,
        minutes=round(wall / 60, 1),
        phase_minutes={
            k: round(v / 60, 2)
            for k, v in phases.items()
        },
        metrics=metrics,
        target=dict(metric=key, value=goal),
        work_dir=str(work_dir),
        curve=curve,
        summary_figure=figure,
        pictures=[str(p) for p in pictures])


def main():
    args = parse_args()
    os.chdir(ROOT)
    from mmhornet.demo import generate_demo_data
    gen_kwargs = {}
    if args.num_train is not None:
        gen_kwargs['num_train'] = args.num_train
    if args.num_val is not None:
        gen_kwargs['num_val'] = args.num_val
    start = time.time()
    data_paths = generate_demo_data(args.data, **gen_kwargs)
    data_minutes = (time.time() - start) / 60
    results = [run_task(t, TASKS[t], args, data_paths) for t in args.tasks]

    seed = args.seed if args.seed is not None else 0
    precision = ''
    if args.amp:
        from mmhornet.engine import amp_trains_in_float32
        precision = ('; --amp: fp32, this CPU has no bf16 kernels' if
                     amp_trains_in_float32() else '; mixed precision (--amp)')
    print(f'\n=== mmhornet demo summary (seed {seed}{precision}; data '
          f'{data_minutes:.1f} min)')
    for r in results:
        key, goal = TASKS[r['task']]['target']
        got = r['metrics'].get(key)
        verdict = 'n/a' if got is None else (
            'target reached' if got >= goal else 'BELOW the target')
        shown = ', '.join(f'{k}={v:.3f}' for k, v in r['metrics'].items())
        phases = ', '.join(f'{k} {v:.1f}'
                           for k, v in r['phase_minutes'].items())
        print(f"{r['task']}: {key} = "
              f"{'n/a' if got is None else f'{got:.3f}'} against the target "
              f'{goal} ({verdict}); {r["minutes"]} min ({phases})')
        print(f'  metrics: {shown or "none logged"}')
        print(f"  work dir: {r['work_dir']}")
        if r['summary_figure']:
            print(f"  summary figure: {r['summary_figure']}")
        if r['curve']:
            print(f"  training curve: {r['curve']}")
        print(f"  pictures: {len(r['pictures'])} in "
              f"{Path(r['pictures'][0]).parent if r['pictures'] else '-'}")
    summary = Path(args.work_dir) / 'summary.json'
    summary.write_text(
        json.dumps(
            dict(
                seed=seed,
                amp=args.amp,
                data_minutes=round(data_minutes, 2),
                tasks=results),
            indent=2))
    print(f'summary: {summary}')


if __name__ == '__main__':
    main()
