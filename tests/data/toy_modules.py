"""A tiny mmengine-only model, dataset, metric and hook for the tools tests.

They need neither mmcv nor a host (mmdet / mmseg / mmpretrain), so the
launcher, resume and checkpoint tests run in seconds on a CPU.
``tests/data/toy_config.py`` imports this module through ``custom_imports``;
the tests put ``tests/data`` on ``PYTHONPATH``.
"""
import os
import os.path as osp
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, METRICS, MODELS
from torch.utils.data import Dataset


@MODELS.register_module()
class ToyRegressor(BaseModel):
    """Two linear layers regressing ``(N, out_dim)`` targets, MSE loss.

    Args:
        in_dim (int): Input features. Defaults to 8.
        hidden (int): Hidden features. Defaults to 16.
        out_dim (int): Output features. Defaults to 2.
        norm (str, optional): ``'BN'`` or ``'SyncBN'`` adds a batch norm
            after the first layer. Defaults to None.
    """

    def __init__(self, in_dim=8, hidden=16, out_dim=2, norm=None):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        norms = dict(BN=nn.BatchNorm1d, SyncBN=nn.SyncBatchNorm)
        self.norm = norms[norm](hidden) if norm else nn.Identity()
        self.fc2 = nn.Linear(hidden, out_dim)

    def forward(self, inputs, labels=None, mode='tensor'):
        """Run the model.

        Args:
            inputs (torch.Tensor): ``(N, in_dim)`` features.
            labels (torch.Tensor, optional): ``(N, out_dim)`` targets.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``. Defaults
                to ``'tensor'``.

        Returns:
            dict | list | torch.Tensor: the losses, a dict per sample, or
            the ``(N, out_dim)`` outputs.
        """
        out = self.fc2(F.relu(self.norm(self.fc1(inputs))))
        if mode == 'loss':
            return dict(loss=F.mse_loss(out.float(), labels))
        if mode == 'predict':
            return [dict(pred=p, label=t) for p, t in zip(out.float(), labels)]
        return out


@DATASETS.register_module()
class ToyRegressionDataset(Dataset):
    """``num`` fixed samples ``y = W x + noise``, equal on every run and rank.

    Args:
        num (int): Number of samples. Defaults to 64.
        in_dim (int): Input features. Defaults to 8.
        out_dim (int): Target features. Defaults to 2.
    """

    def __init__(self, num=64, in_dim=8, out_dim=2):
        gen = torch.Generator().manual_seed(1234)
        self.inputs = torch.randn(num, in_dim, generator=gen)
        weight = torch.randn(in_dim, out_dim, generator=gen)
        noise = torch.randn(num, out_dim, generator=gen)
        self.labels = self.inputs @ weight + 0.1 * noise
        self.metainfo = dict(name='toy')

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, idx):
        return dict(inputs=self.inputs[idx], labels=self.labels[idx])


@METRICS.register_module()
class ToyMSEMetric(BaseMetric):
    """Mean squared error of the ``predict`` outputs of ToyRegressor."""

    def process(self, data_batch, data_samples):
        """Store the squared errors of one batch."""
        for sample in data_samples:
            error = (sample['pred'] - sample['label'])**2
            self.results.append(float(error.mean()))

    def compute_metrics(self, results):
        """Average the stored errors."""
        return dict(mse=sum(results) / len(results))


@HOOKS.register_module()
class ToyRecordHook(Hook):
    """Record what each rank did, and optionally hang to be killed.

    At the end of training every rank writes ``toy_rank{rank}.pth`` into the
    work dir: its parameters, the loss of each iteration it ran, the
    iteration it started from (non-zero after a resume) and the final lr.

    Args:
        hang_at_iter (int, optional): After this (1-based) iteration, write
            ``hanging{rank}`` into the work dir and sleep, so that a test can
            kill the run at a known point. Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(self, hang_at_iter=None):
        self.hang_at_iter = hang_at_iter
        self.losses = {}
        self.start_iter = None

    def before_train(self, runner):
        """Note the iteration training starts from."""
        self.start_iter = runner.iter

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        """Record this rank's loss; hang when asked to."""
        self.losses[runner.iter + 1] = float(outputs['loss'])
        if runner.iter + 1 == self.hang_at_iter:
            marker = osp.join(runner.work_dir, f'hanging{get_rank()}')
            with open(marker, 'w') as f:
                f.write(str(os.getpid()))
            time.sleep(600)

    def after_train(self, runner):
        """Save this rank's record."""
        model = runner.model
        model = getattr(model, 'module', model)
        record = dict(
            params={
                k: v.detach().clone()
                for k, v in model.named_parameters()
            },
            losses=self.losses,
            start_iter=self.start_iter,
            world_size=runner.world_size,
            lr=runner.optim_wrapper.get_lr()['lr'][0])
        torch.save(record,
                   osp.join(runner.work_dir, f'toy_rank{get_rank()}.pth'))
