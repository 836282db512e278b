#!/usr/bin/env bash
# Evaluates every model train-quarter.sh trained (<OUT>/<model>-s<seed>): accuracy on the full 50k test split,
# per-layer L_G (absolute and normalised by the feature variance) on the first 200 test digits; writes
# <REPORT>/{report.md,results.json,lg.svg,lg.png} and (Rot-MNIST) exports the demo models with their metrics to
# tracker/models/classifiers/. One process per model, JOBS at once (default 2, one BLAS thread each); each model's
# numbers go to <run>/eval-<test size>.json, so a re-run only evaluates what is new (delete the file to redo one).
# TEST_SIZE=… evaluates on fewer digits (a quick look).
#   bash reports/rot-mnist/eval.sh                                   (Rot-MNIST, reports/rot-mnist)
#   DATASET=scale-mnist bash reports/rot-mnist/eval.sh               (runs/scale-mnist-quarter → reports/scale-mnist)
#   DATASET=r2-mnist bash reports/rot-mnist/eval.sh                  (runs/r2-mnist-quarter → reports/r2-mnist)
# The report merges <REPORT>/<runs.json> files listed in MERGE (comma-separated results files of runs no longer on
# disk) with the runs found here.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATASET=${DATASET:-rot-mnist}
R=${OUT:-runs/$DATASET-quarter}
REPORT=${REPORT:-reports/$DATASET}
N=${TEST_SIZE:-50000}
JOBS=${JOBS:-2}
declare -A DEFAULT_MODELS=(
  [rot-mnist]="cnn cnn-aug cnn-aug-ien gcnn-c4 steerable-c8 ien-b1 ien-b0.1 het-ien-b1"
  [scale-mnist]="cnn ien-b0 ien-s4-b1"
  [r2-mnist]="cnn cnn-aug-rf cnn-aug-ien-rf gcnn-d4 ien-d4-b1"
)
MODELS=${MODELS:-${DEFAULT_MODELS[$DATASET]:?unknown DATASET $DATASET (rot-mnist, scale-mnist, r2-mnist)}}
# EXPORT= (set but empty) exports nothing
if [ "$DATASET" = rot-mnist ]; then EXPORT=${EXPORT-cnn-aug-s1,ien-b1-s1}; else EXPORT=${EXPORT-}; fi
export ROT_TRACK_THREADS=1
FILES=()
[ -n "${MERGE:-}" ] && IFS=, read -r -a FILES <<< "$MERGE"
eval_one() {
  local name=$1 dir=$2 out=$2/eval-$N.json exp=()
  if [[ ",$EXPORT," == *",$name,"* ]]; then exp=(--export "$name" --export-dir tracker/models/classifiers); fi
  nice -n 10 node --import tsx training/cli/eval-classifier.ts --backend native-cpu --dataset "$DATASET" --test-size "$N" \
    --lg-count 200 --model "$name=$dir" --json "$out.tmp" "${exp[@]}" > /dev/null
  mv "$out.tmp" "$out"
}
for n in $MODELS; do
  for d in "$R/$n"-s*; do
    [ -s "$d/result.json" ] || continue   # finished training (model/ is written just before)
    FILES+=("$d/eval-$N.json")
    [ -s "$d/eval-$N.json" ] && continue
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    eval_one "$(basename "$d")" "$d" &
  done
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n; done
[ ${#FILES[@]} -gt 0 ] || { echo "eval.sh: no trained model under $R (run train-quarter.sh first)" >&2; exit 1; }
# merge, print the table, render the report with its notes, commands and the paper's figures beside ours
extra=()
[ -f "$REPORT/notes.md" ] && extra+=(--notes "$REPORT/notes.md")
[ -f "$REPORT/commands.txt" ] && extra+=(--commands "$REPORT/commands.txt")
for ref in "$REPORT"/paper-*.json; do [ -f "$ref" ] && extra+=(--reference "$ref"); done
node --import tsx training/cli/eval-classifier.ts --results "$(IFS=,; echo "${FILES[*]}")" --report "$REPORT" "${extra[@]}"
