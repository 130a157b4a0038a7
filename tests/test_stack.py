"""The pinned OpenMMLab stack works together (see README, "Install")."""
import torch


def test_versions():
    import mmcv
    import mmdet
    import mmengine
    import mmpretrain
    import mmseg
    assert torch.__version__.startswith('2.14.1')
    assert mmcv.__version__ == '2.1.0'
    assert mmengine.__version__ == '0.10.7'
    assert mmdet.__version__ == '3.3.0'
    assert mmseg.__version__ == '1.2.2'
    assert mmpretrain.__version__ == '1.2.0'


def test_mmcv_compiled_ops_run():
    from mmcv.ops import RoIAlign, batched_nms, nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    _, keep = batched_nms(boxes, scores, torch.tensor([0, 1, 0]),
                          dict(iou_threshold=0.5))
    assert sorted(keep.tolist()) == [0, 1, 2]
    feats = torch.arange(16.).view(1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 4., 4.]])
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2)(feats, rois)
    assert out.shape == (1, 1, 2, 2)
    # Mean of each 2x2 quadrant of the 4x4 ramp.
    torch.testing.assert_close(out.flatten(),
                               torch.tensor([2.5, 4.5, 10.5, 12.5]))


def test_torchvision_ops_load_beside_torch():
    import torchvision
    keep = torchvision.ops.nms(
        torch.tensor([[0., 0., 1., 1.]]), torch.tensor([1.]), 0.5)
    assert keep.tolist() == [0]


def test_mmpretrain_models_import():
    from mmpretrain.models import ImageClassifier  # noqa: F401
    from mmpretrain.models.backbones import HorNet  # noqa: F401
