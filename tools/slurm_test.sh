#!/usr/bin/env bash
# Test on a Slurm partition: GPUS tasks (one process each), GPUS_PER_NODE per node.
# Adapted from mmdet 3.3.0's tools/slurm_test.sh.
#
# Usage: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py options]
# Environment: GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS (extra srun options),
#              PYTHON (python): the interpreter of the environment mmhornet is installed in.
# On a CPU-only cluster set GPUS_PER_NODE=0: no --gres is requested (it would fail there),
# Slurm places the GPUS tasks by free CPUs (SRUN_ARGS="--ntasks-per-node=N" to fix it), and
# the processes run on the CPU over gloo.
# NOTE: srun waits in the queue while the partition lacks the requested CPUs or GPUs.

set -x

if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py options]" >&2
    exit 2
fi

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
PY_ARGS=("${@:5}")
SRUN_ARGS=${SRUN_ARGS:-""}
if [ "$GPUS_PER_NODE" -gt 0 ]; then
    NODE_ARGS="--gres=gpu:${GPUS_PER_NODE} --ntasks-per-node=${GPUS_PER_NODE}"
else
    NODE_ARGS=""
fi

# NODE_ARGS and SRUN_ARGS hold several options, PYTHON may be a command
# with options: all three are split on purpose.
# shellcheck disable=SC2086
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    ${NODE_ARGS} \
    --ntasks="${GPUS}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    ${PYTHON:-python} -u "$(dirname "$0")/test.py" "${CONFIG}" "${CHECKPOINT}" \
    --launcher="slurm" "${PY_ARGS[@]}"
