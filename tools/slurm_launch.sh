#!/usr/bin/env bash
# What tools/slurm_train.sh and tools/slurm_test.sh share: run a tools/ script on a Slurm
# partition as GPUS tasks (one process each), GPUS_PER_NODE per node. Call those two; they
# check their own arguments and pass them on.
# Adapted from mmdet 3.3.0's tools/slurm_train.sh and tools/slurm_test.sh.
#
# Usage: tools/slurm_launch.sh PARTITION JOB_NAME SCRIPT [SCRIPT arguments]
#        SCRIPT: a file in tools/ (train.py, test.py).
# Environment: GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS (extra srun options),
#              PYTHON (python): the interpreter of the environment mmhornet is installed in.
# With GPUS_PER_NODE=0 no --gres is requested (it would fail on a CPU-only cluster) and
# Slurm places the GPUS tasks by free CPUs.
# NOTE: srun waits in the queue while the partition lacks the requested CPUs or GPUs.

set -x

if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME SCRIPT [SCRIPT arguments]" >&2
    exit 2
fi

PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=("${@:4}")
if [ "$GPUS_PER_NODE" -gt 0 ]; then
    NODE_ARGS="--gres=gpu:${GPUS_PER_NODE} --ntasks-per-node=${GPUS_PER_NODE}"
else
    NODE_ARGS=""
fi

# NODE_ARGS and SRUN_ARGS hold several options, PYTHON may be a command
# with options: all three are split on purpose.
# shellcheck disable=SC2086
# One OpenMP thread per CPU a task gets (torchrun does the same for the
# ranks it starts): where Slurm binds no CPUs, every rank would otherwise
# start a thread per core of the node. Set OMP_NUM_THREADS to override.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$CPUS_PER_TASK}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    ${NODE_ARGS} \
    --ntasks="${GPUS}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    ${PYTHON:-python} -u "$(dirname "$0")/${SCRIPT}" "${PY_ARGS[@]}"
