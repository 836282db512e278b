#!/usr/bin/env bash
# Issue 14's experiment: train each config of training/experiments/ordering/ once per seed, N runs at a time with one
# thread each (2 cores here), resumable (--resume: a run that finished is skipped, a killed one continues from its
# checkpoint). Runs go to runs/ordering/<config>-s<seed>/ and their models are linked as
# runs/ordering/models/<config>-s<seed> so that `npm run eval` names them apart.
#
#   scripts/experiments/ordering-train.sh [--seeds "1 2 3"] [--jobs 2] [config ...]   (default: every config)
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds="1 2 3"
jobs=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) echo "ordering-train: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
configs=("$@")
if [[ ${#configs[@]} -eq 0 ]]; then
  for f in training/experiments/ordering/*.json; do configs+=("$(basename "$f" .json)"); done
fi
for c in "${configs[@]}"; do
  [[ -f "training/experiments/ordering/$c.json" ]] || { echo "ordering-train: no config training/experiments/ordering/$c.json" >&2; exit 2; }
done
mkdir -p runs/ordering/models
run() { # config seed
  local out="runs/ordering/$1-s$2" state="done already"
  if [[ ! -f "$out/model/model.json" ]]; then
    echo "[ordering] $1 seed $2: start $(date -u +%H:%M:%S)"
    ROT_TRACK_THREADS=1 node --import tsx training/cli/train.ts --config "training/experiments/ordering/$1.json" \
      --out "$out" --seed "$2" --resume > "$out.log" 2>&1 || { echo "[ordering] $1 seed $2: FAILED (see $out.log)"; return 1; }
    state="end $(date -u +%H:%M:%S)"
  fi
  ln -sfn "../$1-s$2/model" "runs/ordering/models/$1-s$2"
  echo "[ordering] $1 seed $2: $state"
}
# seed-major order: every config's seed 1 first, so a cut-short queue still has one full set
status=0
for s in $seeds; do
  for c in "${configs[@]}"; do
    while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || status=1; done
    run "$c" "$s" &
  done
done
while [[ $(jobs -rp | wc -l) -gt 0 ]]; do wait -n || status=1; done
exit $status
