#!/usr/bin/env bash
# Test with GPUS processes per node, started by torchrun (torch.distributed.run).
# Without CUDA the processes run on the CPU and talk over gloo.
# Adapted from mmdet 3.3.0's tools/dist_test.sh; the launch itself is tools/dist_launch.sh.
#
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py options]
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
#              PYTHON (python): the interpreter of the environment mmhornet is installed in.

if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [tools/test.py options]" >&2
    exit 2
fi

exec bash "$(dirname "$0")/dist_launch.sh" "$3" test.py "$1" "$2" --launcher pytorch "${@:4}"
