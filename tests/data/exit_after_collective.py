"""A distributed run reduced to the part that aborted at exit.

Started as one rank of a two-process job (torch's env:// variables set), it
sets up the group as ``MMHornetRunner`` does (gloo without CUDA, the
teardown registered) and ends
right after a burst of collectives, the moment a gloo worker thread may
still hold the last one. Without the teardown at exit this aborted in about
half of the runs ("terminate called without an active exception").
``FAIL_RANK=r`` makes rank r end on an uncaught exception instead.
"""
import importlib.util
import os
import os.path as osp

import torch
import torch.distributed as dist

# mmhornet's process-group module alone, from its file: importing the
# package (every host's models) would take most of each run's time.
spec = importlib.util.spec_from_file_location(
    'mmhornet_dist',
    osp.join(
        osp.dirname(__file__), '..', '..', 'mmhornet', 'engine', 'dist.py'))
mmhornet_dist = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mmhornet_dist)
init_cpu_dist = mmhornet_dist.init_cpu_dist
register_teardown = mmhornet_dist.register_teardown

init_cpu_dist('pytorch')
register_teardown()
tensor = torch.ones(1000)
for _ in range(20):
    dist.all_reduce(tensor)
if os.environ.get('FAIL_RANK') == os.environ['RANK']:
    raise RuntimeError('rank failed on purpose')
