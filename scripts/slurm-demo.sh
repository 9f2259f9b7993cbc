#!/bin/bash
# A sharded batch on a real one-node Slurm cluster on this machine (Debian/Ubuntu, run as root):
#   1. installs slurm-wlm, munge and imagemagick if missing, and starts munged, slurmctld and slurmd on localhost
#      (a minimal /etc/slurm/slurm.conf is written when there is none);
#   2. publishes mlstyle and makes a folder of small images from the committed samples;
#   3. submits a 4-task job array (deploy/slurm/mlstyle-array.sbatch), cancels one task with scancel while it runs,
#      resubmits that task, and waits;
#   4. checks with `mlstyle batch status --json` and the manifests that every image is done exactly once.
# Exits non-zero when any check fails. Usage: scripts/slurm-demo.sh [WORKDIR] (default /tmp/mlstyle-slurm-demo).
# Knobs: IMAGES (40), SIZE (64), ITERATIONS (20).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/mlstyle-slurm-demo}
IMAGES=${IMAGES:-40}
SIZE=${SIZE:-64}
ITERATIONS=${ITERATIONS:-20}
SHARDS=4
CANCEL=1 # the array task that is cancelled and resubmitted
T0=$EPOCHREALTIME

say() { printf '[%6.1fs] %s\n' "$(awk "BEGIN { print $EPOCHREALTIME - $T0 }")" "$*" >&2; }
run() { say "\$ $*"; "$@"; }
fail() { say "FAILED: $*"; exit 1; }

# --- 1. the cluster -------------------------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v convert >/dev/null; then
    run apt-get install -y -q slurm-wlm munge imagemagick
fi
if ! pgrep -x munged >/dev/null; then
    [ -s /etc/munge/munge.key ] || run mungekey --create --force
    mkdir -p /run/munge && chown munge:munge /run/munge
    run runuser -u munge -- /usr/sbin/munged
fi
HOST=$(hostname -s)
if [ ! -f /etc/slurm/slurm.conf ]; then
    MEM=$(free -m | awk '/^Mem:/ { print int($2 * 0.8) }')
    say "writing /etc/slurm/slurm.conf for $HOST (CPUs=2, RealMemory=$MEM)"
    mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    cat >/etc/slurm/slurm.conf <<CONF
# A one-node demo cluster written by mlstyle's scripts/slurm-demo.sh.
ClusterName=mlstyle-demo
SlurmctldHost=$HOST
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=30
NodeName=$HOST CPUs=2 RealMemory=$MEM State=UNKNOWN
PartitionName=demo Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
fi
pgrep -x slurmctld >/dev/null || run /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || run /usr/sbin/slurmd
for _ in $(seq 1 30); do
    sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
    scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
    sleep 1
done
run sinfo
sinfo -h -o '%T' | grep -qE '^(idle|mixed|allocated)' || fail "the Slurm node is not up (see /var/log/slurm/)"

# --- 2. mlstyle and the images --------------------------------------------------------------------------------------
rm -rf "$WORK"
mkdir -p "$WORK/in" "$WORK/logs"
run dotnet publish "$REPO/src/MLStyle.Cli" -c Release -o "$WORK/mlstyle" -v quiet -nologo
MLSTYLE=$WORK/mlstyle/MLStyle.Cli
SOURCES=("$REPO"/samples/content/* "$REPO"/samples/textures/*)
for i in $(seq 0 $((IMAGES - 1))); do
    src=${SOURCES[$((i % ${#SOURCES[@]}))]}
    dir=$WORK/in/set$((i % 3))
    mkdir -p "$dir"
    # a different crop and hue of a committed sample each time, at most SIZE px
    convert "$src" -gravity center -crop "$((60 + i % 5 * 8))%x$((60 + i % 4 * 10))%+0+0" +repage \
        -modulate 100,100,$((60 + i * 7 % 80)) -resize "${SIZE}x${SIZE}" "$dir/img$(printf %03d "$i").png"
done
say "made $(find "$WORK/in" -type f | wc -l) images of at most ${SIZE}px in $WORK/in"

# --- 3. the job array -----------------------------------------------------------------------------------------------
EXPORT="ALL,SHARDS=$SHARDS,INPUT=$WORK/in,OUTPUT=$WORK/out,STYLE=$REPO/samples/style/swirls.png,MLSTYLE=$MLSTYLE"
EXPORT+=",MLSTYLE_ARGS=--size $SIZE --iterations $ITERATIONS"
SBATCH=(sbatch --parsable --chdir="$WORK/logs" --output="$WORK/logs/task-%A_%a.log" --export="$EXPORT")
JOB=$(run "${SBATCH[@]}" --array=0-$((SHARDS - 1)) "$REPO/deploy/slurm/mlstyle-array.sbatch")
say "job array $JOB submitted"
MANIFEST=$WORK/out/manifest.shard-$((CANCEL + 1))-of-$SHARDS.jsonl
for _ in $(seq 1 1200); do
    [ -f "$MANIFEST" ] && [ "$(wc -l <"$MANIFEST")" -ge 2 ] && break
    sleep 0.1
done
[ -f "$MANIFEST" ] || fail "task $CANCEL never wrote its manifest"
BEFORE=$(wc -l <"$MANIFEST")
run squeue -j "$JOB"
run scancel "${JOB}_$CANCEL"
say "cancelled task $CANCEL after $BEFORE of its images"
while squeue -h -j "$JOB" 2>/dev/null | grep -q .; do sleep 1; done
say "job array $JOB finished"
"$MLSTYLE" batch status --output "$WORK/out" || true
RESUB=$(run "${SBATCH[@]}" --array=$CANCEL "$REPO/deploy/slurm/mlstyle-array.sbatch")
say "task $CANCEL resubmitted as job $RESUB"
while squeue -h -j "$RESUB" 2>/dev/null | grep -q .; do sleep 1; done
say "job $RESUB finished"
say "logs of the cancelled and the resubmitted task:"
tail -n 4 "$WORK/logs/task-${JOB}_$CANCEL.log" "$WORK/logs/task-${RESUB}_$CANCEL.log"

# --- 4. checks ------------------------------------------------------------------------------------------------------
run "$MLSTYLE" batch status --output "$WORK/out" --report "$WORK/report.html"
run "$MLSTYLE" batch status --output "$WORK/out" --json | tee "$WORK/status.json"
python3 - "$WORK" "$IMAGES" "$SHARDS" <<'PY'
import glob, json, os, sys
work, images, shards = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
st = json.load(open(f"{work}/status.json"))
problems = []
if (st["total"], st["done"], st["failed"], st["pending"], st["duplicates"]) != (images, images, 0, 0, 0):
    problems.append(f"status: total {st['total']}, done {st['done']}, failed {st['failed']}, pending {st['pending']}, duplicates {st['duplicates']}")
if len(st["shards"]) != shards:
    problems.append(f"{len(st['shards'])} shards in the status")
ok, shard_of = {}, {}
for path in sorted(glob.glob(f"{work}/out/manifest.shard-*-of-{shards}.jsonl")):
    for line in open(path):
        e = json.loads(line)
        if shard_of.setdefault(e["input"], path) != path:
            problems.append(f"{e['input']} is in {shard_of[e['input']]} and {path}")
        if e["status"] == "ok":
            ok[e["input"]] = ok.get(e["input"], 0) + 1
inputs = sorted(os.path.relpath(p, f"{work}/in") for p in glob.glob(f"{work}/in/**/*.png", recursive=True))
outputs = sorted(os.path.relpath(p, f"{work}/out") for p in glob.glob(f"{work}/out/**/*.png", recursive=True))
twice = [i for i, n in ok.items() if n != 1]
missing = [i for i in inputs if i not in ok]
temps = glob.glob(f"{work}/out/**/.*.tmp-*", recursive=True)
if twice: problems.append(f"written more than once: {twice}")
if missing: problems.append(f"never written: {missing}")
if outputs != inputs: problems.append(f"{len(outputs)} outputs for {len(inputs)} inputs")
if temps: problems.append(f"temporary files left: {temps}")
print(f"check: {len(inputs)} inputs, {len(outputs)} outputs, {sum(ok.values())} ok lines over {len(ok)} images, "
      f"{len(twice)} written twice, {len(missing)} never written, {len(temps)} temporary files")
for p in problems: print("problem:", p)
sys.exit(1 if problems else 0)
PY
say "every image was done exactly once"
