#!/usr/bin/env bash
# Train on a Slurm partition: GPUS tasks (one process each), GPUS_PER_NODE per node.
# Adapted from mmdet 3.3.0's tools/slurm_train.sh; the launch itself is tools/slurm_launch.sh.
#
# Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py options]
# Environment: GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS (extra srun options),
#              PYTHON (python): the interpreter of the environment mmhornet is installed in.
# On a CPU-only cluster set GPUS_PER_NODE=0: no --gres is requested (it would fail there),
# Slurm places the GPUS tasks by free CPUs (SRUN_ARGS="--ntasks-per-node=N" to fix it), and
# the processes train on the CPU over gloo.
# NOTE: srun waits in the queue while the partition lacks the requested CPUs or GPUs.

set -x

if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py options]" >&2
    exit 2
fi

exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" train.py "$3" --work-dir="$4" \
    --launcher="slurm" "${@:5}"
