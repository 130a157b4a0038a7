#!/usr/bin/env bash
# What tools/dist_train.sh and tools/dist_test.sh share: start GPUS processes per node of a
# tools/ script with torchrun (torch.distributed.run). Call those two; they check their own
# arguments and pass them on.
# Adapted from mmdet 3.3.0's tools/dist_train.sh and tools/dist_test.sh.
#
# Usage: tools/dist_launch.sh GPUS SCRIPT [SCRIPT arguments]
#        SCRIPT: a file in tools/ (train.py, test.py).
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
#              PYTHON (python): the interpreter of the environment mmhornet is installed in.

if [ $# -lt 2 ]; then
    echo "usage: $0 GPUS SCRIPT [SCRIPT arguments]" >&2
    exit 2
fi

GPUS=$1
SCRIPT=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

# PYTHON may be a command with options, hence unquoted.
# shellcheck disable=SC2086
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
${PYTHON:-python} -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/$SCRIPT" \
    "${@:3}"
