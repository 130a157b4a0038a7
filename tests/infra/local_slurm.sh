#!/usr/bin/env bash
# A real, single-node Slurm cluster on this machine, to test tools/slurm_*.sh without a cluster.
#
# Usage: tests/infra/local_slurm.sh install|start|stop|status
#
#   install  apt-get install Debian's slurm-wlm and munge (needs root).
#   start    start munged, slurmctld and slurmd as root daemons and wait until the node is
#            idle; prints `export SLURM_CONF=...` for the caller to eval, and writes the same
#            line to $MMHORNET_SLURM_DIR/env.
#   stop     shut the daemons down (only the ones this script started, by their pid files).
#   status   print the daemons and `sinfo`; exit 0 when the cluster answers, 1 otherwise.
#
# Environment:
#   MMHORNET_SLURM_DIR        state, spool, logs and the munge key. Defaults to /tmp/mmhornet-slurm.
#   MMHORNET_SLURM_CPUS       CPUs of the one node. Defaults to 2.
#   MMHORNET_SLURM_PARTITION  partition name. Defaults to debug.
#
# Example:
#   tests/infra/local_slurm.sh install
#   eval "$(tests/infra/local_slurm.sh start)"
#   srun -p debug -n 2 hostname
#   tests/infra/local_slurm.sh stop
#
# NOTE: a job asking for more CPUs than the node has waits in the queue forever; wrap every
# srun/sbatch that talks to this cluster in `timeout`.
set -euo pipefail

DIR=${MMHORNET_SLURM_DIR:-/tmp/mmhornet-slurm}
CPUS=${MMHORNET_SLURM_CPUS:-2}
PARTITION=${MMHORNET_SLURM_PARTITION:-debug}
CONF=$DIR/etc/slurm.conf
MUNGE_SOCKET=$DIR/munge/run/munge.socket.2
NODE=$(hostname -s)

die() {
    echo "local_slurm.sh: $*" >&2
    exit 1
}

need_tools() {
    local tool
    for tool in munged mungekey slurmctld slurmd sinfo scontrol srun; do
        command -v "$tool" >/dev/null \
            || die "'$tool' not found; run '$0 install' first (Debian: slurm-wlm munge)"
    done
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "'$1' needs root (the daemons run as SlurmUser=root)"
}

# pid_alive PIDFILE: true when the file names a running process.
pid_alive() {
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

write_conf() {
    mkdir -p "$DIR/etc"
    cat >"$CONF" <<EOF
# Written by tests/infra/local_slurm.sh: one node, no accounting, no cgroups.
ClusterName=mmhornet
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    local m=$DIR/munge
    pid_alive "$m/run/munged.pid" && return 0
    # munged refuses a key directory others can read and a socket directory they cannot enter.
    mkdir -p "$m/lib" "$m/log" "$m/run"
    chmod 755 "$DIR" "$m" "$m/run"
    chmod 700 "$m/lib" "$m/log"
    [ -s "$m/lib/munge.key" ] || mungekey --create --keyfile="$m/lib/munge.key"
    chmod 600 "$m/lib/munge.key"
    munged --key-file="$m/lib/munge.key" --socket="$MUNGE_SOCKET" \
        --pid-file="$m/run/munged.pid" --log-file="$m/log/munged.log" \
        --seed-file="$m/lib/munged.seed"
    timeout 10 bash -c "until munge -S '$MUNGE_SOCKET' -n >/dev/null 2>&1; do sleep 0.2; done" \
        || die "munged did not answer; see $m/log/munged.log"
}

node_state() {
    timeout 5 sinfo -h -N -n "$NODE" -o %t 2>/dev/null | head -n1 || true
}

do_start() {
    need_root start
    need_tools
    # torch.distributed's master is the job's first host name (as in mmengine's Slurm launch).
    getent hosts "$NODE" >/dev/null \
        || echo "local_slurm.sh: warning: '$NODE' does not resolve; distributed jobs need it" \
            "(e.g. '127.0.0.1 $NODE' in /etc/hosts)" >&2
    export SLURM_CONF=$CONF
    if pid_alive "$DIR/run/slurmctld.pid" && pid_alive "$DIR/run/slurmd.pid"; then
        echo "local_slurm.sh: already running" >&2
    else
        mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run"
        write_conf
        start_munge
        # -c: start from a clean state; the jobs of an earlier session are of no interest.
        pid_alive "$DIR/run/slurmctld.pid" || slurmctld -c
        pid_alive "$DIR/run/slurmd.pid" || slurmd
    fi
    local state
    if ! timeout 30 bash -c "until [ \"\$(sinfo -h -N -n '$NODE' -o %t 2>/dev/null)\" = idle ]; do
            sinfo -h -N -n '$NODE' -o %t 2>/dev/null | grep -qE 'down|drain' \
                && scontrol update nodename='$NODE' state=resume >/dev/null 2>&1
            sleep 0.5
        done"; then
        state=$(node_state)
        die "node '$NODE' is '${state:-not answering}', not idle; see $DIR/log/"
    fi
    echo "export SLURM_CONF=$CONF" >"$DIR/env"
    echo "export SLURM_CONF=$CONF"
}

do_stop() {
    export SLURM_CONF=$CONF
    local pidfile pid
    for pidfile in "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" "$DIR/munge/run/munged.pid"; do
        pid_alive "$pidfile" || continue
        pid=$(cat "$pidfile")
        kill "$pid"
        timeout 15 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.2; done" \
            || kill -9 "$pid" 2>/dev/null || true
    done
    rm -f "$DIR/env"
    echo "local_slurm.sh: stopped" >&2
}

do_status() {
    export SLURM_CONF=$CONF
    local name pidfile up=0
    for name in munged slurmctld slurmd; do
        case $name in
            munged) pidfile=$DIR/munge/run/munged.pid ;;
            *) pidfile=$DIR/run/$name.pid ;;
        esac
        if pid_alive "$pidfile"; then
            echo "$name: running (pid $(cat "$pidfile"))"
        else
            echo "$name: stopped"
            up=1
        fi
    done
    if [ "$up" -eq 0 ] && timeout 5 sinfo; then
        echo "export SLURM_CONF=$CONF"
        return 0
    fi
    return 1
}

do_install() {
    need_root install
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge
}

case ${1:-} in
    install) do_install ;;
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) die "usage: $0 install|start|stop|status" ;;
esac
