"""Predict on images with an mmdet, mmseg or mmpretrain config and draw the
predictions, through the host's own inferencer.

Modelled on mmdet 3.3.0's ``demo/image_demo.py``; the host is the config's
``default_scope``: ``DetInferencer`` (boxes and masks), ``MMSegInferencer``
(segmentation maps) or mmpretrain's ``ImageClassificationInferencer``
(classes). The pictures go to ``OUT_DIR/vis/``, the predictions (mmdet,
mmpretrain: JSON; mmseg: label maps) to ``OUT_DIR/preds/``.

Examples:
    python tools/infer.py demo.jpg configs/coco/hornet_cascade.py \
        --weights work_dirs/hornet_cascade/epoch_36.pth --out-dir outputs
    python tools/infer.py data/demo/ade/images/validation \
        configs/demo/upernet_hornet-demo_demo.py \
        --weights work_dirs/demo/seg/iter_400.pth --out-dir outputs
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmhornet  # noqa: F401  (registers mmhornet's modules)
from mmhornet.utils import HOSTS

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Predict on images and draw the predictions with an '
        'mmdet, mmseg or mmpretrain config')
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('config', help='the config file')
    parser.add_argument(
        '--weights',
        required=True,
        help='checkpoint file (a local path or a URL)')
    parser.add_argument(
        '--out-dir',
        default='outputs',
        help='folder for vis/ (pictures) and preds/')
    parser.add_argument('--device', default='cpu', help="e.g. 'cuda:0'")
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='mmdet: lowest box score drawn')
    args = parser.parse_args(argv)
    if not osp.exists(args.inputs):
        parser.error(f'{args.inputs!r} does not exist')
    if not osp.isfile(args.config):
        parser.error(f'config file {args.config!r} does not exist')
    return parser, args


def list_images(inputs):
    """The image files of ``inputs`` (a file or a folder), sorted."""
    if osp.isfile(inputs):
        return [inputs]
    return sorted(
        osp.join(inputs, name) for name in os.listdir(inputs)
        if name.lower().endswith(IMAGE_SUFFIXES))


def infer(images, config, weights, out_dir, device='cpu', score_thr=0.3):
    """Run the config's host inferencer on ``images``; write pictures and
    predictions under ``out_dir``.

    Args:
        images (list[str]): Image files.
        config (str): The config file.
        weights (str): The checkpoint.
        out_dir (str): Output folder (``vis/``, ``preds/``).
        device (str): Defaults to 'cpu'.
        score_thr (float): mmdet's drawing threshold. Defaults to 0.3.

    Returns:
        tuple: the host and its inferencer's result (a dict with
        ``predictions``).
    """
    host = Config.fromfile(config).get('default_scope')
    if host not in HOSTS:
        raise ValueError(f'default_scope={host!r}: tools/infer.py serves '
                         f'{", ".join(HOSTS)} configs')
    # mmpretrain's inferencer builds its pipeline in the current scope.
    init_default_scope(host)
    if host == 'mmdet':
        from mmdet.apis import DetInferencer
        inferencer = DetInferencer(
            model=config, weights=weights, device=device, show_progress=False)
        return host, inferencer(
            images,
            out_dir=out_dir,
            no_save_pred=False,
            pred_score_thr=score_thr)
    if host == 'mmseg':
        from mmseg.apis import MMSegInferencer
        inferencer = MMSegInferencer(
            model=config, weights=weights, device=device)
        return host, inferencer(
            images, out_dir=out_dir, img_out_dir='vis', pred_out_dir='preds')
    from mmpretrain import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(
        model=config, pretrained=weights, device=device)
    results = inferencer(images, show_dir=osp.join(out_dir, 'vis'))
    os.makedirs(osp.join(out_dir, 'preds'), exist_ok=True)
    for image, result in zip(images, results):
        name = osp.splitext(osp.basename(image))[0] + '.json'
        with open(osp.join(out_dir, 'preds', name), 'w') as f:
            json.dump(
                {
                    k: v
                    for k, v in result.items()
                    if k in ('pred_label', 'pred_score', 'pred_class')
                },
                f,
                default=float)
    return host, dict(predictions=results)


def main(argv=None):
    parser, args = parse_args(argv)
    images = list_images(args.inputs)
    if not images:
        parser.error(f'no {"/".join(IMAGE_SUFFIXES)} images in '
                     f'{args.inputs!r}')
    host, _ = infer(images, args.config, args.weights, args.out_dir,
                    args.device, args.score_thr)
    print(f'{host}: {len(images)} image(s); pictures in '
          f'{osp.join(args.out_dir, "vis")}, predictions in '
          f'{osp.join(args.out_dir, "preds")}')


if __name__ == '__main__':
    main()
