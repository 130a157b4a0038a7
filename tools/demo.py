"""mmhornet's main job, end to end, on the built-in demo data.

1. generates the demo scene dataset (COCO and ADE20K formats) if missing;
2. trains Cascade Mask R-CNN (HorNet + g^nConv FPN) on it, evaluates it with
   mmdet's CocoMetric (bbox, segm) and draws predictions on val images;
3. trains UPerNet (HorNet) on it, evaluates mIoU with mmseg's IoUMetric and
   draws segmentation overlays;
4. plots the training curves and prints a summary.

Example:
    python tools/demo.py                           # the whole job
    python tools/demo.py --tasks det --iters 20    # a quick look
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
        metrics=('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP'),
        target=('coco/bbox_mAP', 0.30),
        losses=('loss', 's0.loss_bbox', 's0.loss_mask', 'loss_rpn_cls')),
    'seg':
    dict(
        config='configs/demo/upernet_hornet-demo_demo.py',
        data_key='ade_root',
        metrics=('mIoU', 'aAcc', 'mAcc'),
        target=('mIoU', 50.0),
        losses=('loss', 'decode.loss_ce', 'aux.loss_ce')),
}


def parse_args():
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
    return parser.parse_args()


def last_metrics(work_dir: Path, keys):
    """Metrics of the newest run's last validation, from scalars.json."""
    from mmhornet.visualization.curves import find_scalars, load_scalars
    path = find_scalars(str(work_dir))
    if path is None:
        return {}, None
    scalars = load_scalars(str(path))
    return {k: scalars[k][-1][1] for k in keys if k in scalars}, path


def run_task(name, spec, args, data_paths):
    from mmhornet.visualization import load_scalars, plot_training_curves
    work_dir = Path(args.work_dir) / name
    cmd = [
        sys.executable,
        str(ROOT / 'tools/train.py'), spec['config'], '--work-dir',
        str(work_dir)
    ]
    root = str(data_paths[spec['data_key']]).rstrip('/') + '/'
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
    cmd += ['--cfg-options', *options]
    print(f'\n=== {name}: {" ".join(cmd)}', flush=True)
    start = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    minutes = (time.time() - start) / 60
    metrics, scalars_path = last_metrics(work_dir, spec['metrics'])
    curve = None
    if scalars_path is not None:
        curve = plot_training_curves(
            load_scalars(str(scalars_path)),
            str(work_dir / 'training_curve.png'),
            loss_keys=spec['losses'],
            metric_keys=spec['metrics'][:1],
            title=f'{name}: {Path(spec["config"]).stem}')
    pictures = sorted(work_dir.glob('*/vis_data/vis_image/*.png'))
    return dict(
        task=name,
        minutes=round(minutes, 1),
        metrics=metrics,
        work_dir=str(work_dir),
        curve=curve,
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
    data_paths = generate_demo_data(args.data, **gen_kwargs)
    results = [run_task(t, TASKS[t], args, data_paths) for t in args.tasks]

    print('\n=== mmhornet demo summary')
    for r in results:
        key, goal = TASKS[r['task']]['target']
        got = r['metrics'].get(key)
        verdict = 'n/a' if got is None else (
            'target reached' if got >= goal else f'below the target {goal}')
        shown = ', '.join(f'{k}={v:.3f}' for k, v in r['metrics'].items())
        print(f"{r['task']}: {shown or 'no metrics logged'} "
              f"({verdict}); trained+evaluated in {r['minutes']} min")
        print(f"  work dir: {r['work_dir']}")
        if r['curve']:
            print(f"  training curve: {r['curve']}")
        print(f"  pictures: {len(r['pictures'])} in "
              f"{Path(r['pictures'][0]).parent if r['pictures'] else '-'}")
    summary = Path(args.work_dir) / 'summary.json'
    summary.write_text(json.dumps(results, indent=2))
    print(f'summary: {summary}')


if __name__ == '__main__':
    main()
