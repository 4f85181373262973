#!/usr/bin/env bash
# Installs (Debian's slurm-wlm and munge) and starts a real one-node Slurm cluster on this
# machine, for prun's Slurm tests: munged, slurmctld and slurmd, one partition "debug"
# holding this host. Waits until the node is idle and a trial `srun true` works.
# Needs root. Safe to run again: it reuses what is installed and running.
#
#   bash scripts/slurm-single-node.sh          # install if needed, start, wait
#   bash scripts/slurm-single-node.sh --stop   # stop the daemons
set -euo pipefail
[[ $(id -u) == 0 ]] || { echo "slurm-single-node.sh: run as root" >&2; exit 1; }

if [[ ${1:-} == --stop ]]; then
  scancel --user=root 2>/dev/null || true
  pkill -x slurmd || true; pkill -x slurmctld || true; pkill -x munged || true
  exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm: installing slurm-wlm and munge (Debian packages)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

host=$(hostname -s)
cpus=$(nproc)
# Memory is declared (nine tenths of what there is, in MiB) so that `--mem` (what
# `limits: {memory}` becomes) can be satisfied; without it Slurm assumes 1 MB.
mem=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 9 / 10 / 1024 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm \
         /run/munge /var/lib/munge /etc/munge /var/log/munge
[[ -s /etc/munge/munge.key ]] || head -c 1024 /dev/urandom >/etc/munge/munge.key
chown -R munge:munge /run/munge /var/lib/munge /etc/munge /var/log/munge
chmod 0400 /etc/munge/munge.key

# Written every time, so a host name or CPU count that changed is picked up.
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=prun-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF

pgrep -x munged >/dev/null || su -s /bin/sh munge -c "munged" 2>/dev/null || munged --force
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 60); do
  state=$(sinfo -h -o %T 2>/dev/null | head -1 || true)
  [[ $state == idle* || $state == mixed* ]] && break
  [[ $state == down* || $state == drain* ]] && scontrol update nodename="$host" state=resume 2>/dev/null || true
  sleep 1
done
sinfo >&2
timeout 60 srun --quiet -n1 true
echo "slurm: ready (node $host, $cpus CPUs, partition debug)" >&2
