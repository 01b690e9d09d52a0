#!/usr/bin/env bash
# Start (or restart) an evidence campaign in the background for this session:
#   [JOBS=2] bash scripts/campaign_background.sh resnet56-cpu[,mobilenet_v1-cpu,...] [RUNS_ROOT] [DATA_DIR]
#   (comma-separated campaigns run one after another in one process, so the cores never idle between
#   them; an *-events campaign runs JOBS studies at once, each in its own single-thread process)
# The runs execute from a frozen worktree of the current commit (../campaign-<name>), so editing
# this checkout never changes code under a running job; completed runs are skipped and killed runs
# resume from their checkpoints. A collector loop copies each completed run's config, metrics and
# summary into results/<scale>/ (event studies: results/events/) of this checkout and commits them (one commit per run).
# Runs already complete in results/ are skipped; unfinished event studies stashed in inflight/ by an
# earlier session (`python scripts/campaign.py stash --root RUNS --commit`, before it stops) resume here.
set -euo pipefail
name=${1:?campaign name, e.g. resnet56-cpu or resnet56-events,mobilenet_v1-events}
names=${name//,/ }
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${2:-$repo/../runs}
data=${3:-${GFTHEORY_DATA:-$repo/../shared/data}}
py=${PYTHON:-python}
wt=$repo/../campaign-$name
mkdir -p "$root"
root=$(cd "$root" && pwd)
if [ -d "$wt" ]; then git -C "$repo" worktree remove --force "$wt"; fi
git -C "$repo" worktree add -q --detach "$wt" HEAD
cd "$wt"
jobs=${JOBS:-2}
OMP_NUM_THREADS=1 nohup "$py" scripts/campaign.py run $names --root "$root" --jobs "$jobs" --data-dir "$data" \
    > "$root/campaign-$name.log" 2>&1 &
echo "campaign $name: pid $! from $wt at $(git rev-parse --short HEAD), log $root/campaign-$name.log"
cd "$repo"
if pgrep -f "campaign.py collect" >/dev/null; then echo "collector already running"; exit 0; fi
nohup bash -c "while true; do \"$py\" scripts/campaign.py collect --root \"$root\" --commit; sleep 120; done" \
    > "$root/collect.log" 2>&1 &
echo "collector: pid $! (commits into $repo/results/<scale> and results/events)"
