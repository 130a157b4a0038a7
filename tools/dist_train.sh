#!/usr/bin/env bash
# Train with GPUS processes per node, started by torchrun (torch.distributed.run).
# Without CUDA the processes train on the CPU and talk over gloo.
# Adapted from mmdet 3.3.0's tools/dist_train.sh; the launch itself is tools/dist_launch.sh.
#
# Usage: tools/dist_train.sh CONFIG GPUS [tools/train.py options]
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
#              PYTHON (python): the interpreter of the environment mmhornet is installed in.

if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py options]" >&2
    exit 2
fi

exec bash "$(dirname "$0")/dist_launch.sh" "$2" train.py "$1" --launcher pytorch "${@:3}"
