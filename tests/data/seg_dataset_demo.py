# The demo's ADE20K-style data set and nothing of mmhornet: mmseg's own
# pieces only, to tell a host tool's failure from mmhornet's (see
# tests/test_tools/test_host_tools.py).
_base_ = ['mmseg::_base_/default_runtime.py']
data_root = 'data/demo/ade/'
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='BaseSegDataset',
        data_root=data_root,
        metainfo=dict(
            classes=('background', 'disk', 'rectangle', 'triangle', 'star',
                     'ring', 'cross')),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        reduce_zero_label=True,
        data_prefix=dict(
            img_path='images/training', seg_map_path='annotations/training'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', reduce_zero_label=True),
            dict(type='PackSegInputs')
        ]))
