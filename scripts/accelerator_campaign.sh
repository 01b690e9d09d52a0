#!/usr/bin/env bash
# The one command for a lent GPU host (docs/accelerator.md gives the exact sequence of calls):
#   bash scripts/accelerator_campaign.sh [--minutes 9] [--parts .carry/cifar10] [--resume .carry/resume]
#   bash scripts/accelerator_campaign.sh --dry-run --out DIR --parts PARTS   # CPU rehearsal (CI)
# Everything lands in $OUT (or --out): accelerator.json, bench.json, evidence.tar.gz, campaign.log,
# resume.tar.partNN. It stops itself --margin seconds (default 45) before --minutes are up.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
py=
for cand in ${PYTHON:-} python python3; do   # the first interpreter that has torch (host: python3)
  if command -v "$cand" >/dev/null && "$cand" -c "import torch" 2>/dev/null; then py=$cand; break; fi
done
if [ -z "$py" ]; then echo "accelerator_campaign: no python with torch; fix: set PYTHON=/path/to/python" >&2; exit 2; fi
export PYTHONUNBUFFERED=1
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
cd "$repo" && exec "$py" scripts/accelerator_campaign.py campaign "$@"
