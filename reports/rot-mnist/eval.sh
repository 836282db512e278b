#!/usr/bin/env bash
# Evaluates every model train-quarter.sh trained (runs/rot-mnist-quarter/<model>-s<seed>): accuracy on the full 50k
# Rot-MNIST test split, per-layer L_G (absolute and normalised by the feature variance) on the first 200 test digits;
# writes reports/rot-mnist/{report.md,results.json,lg.svg,lg.png} and exports the demo models (with their metrics) to
# tracker/models/classifiers/. One process per model, JOBS at once (default 2, one BLAS thread each); each model's
# numbers go to <run>/eval-<test size>.json, so a re-run only evaluates what is new (delete the file to redo one).
# TEST_SIZE=… evaluates on fewer digits (a quick look).
set -euo pipefail
cd "$(dirname "$0")/../.."
R=${OUT:-runs/rot-mnist-quarter}
N=${TEST_SIZE:-50000}
JOBS=${JOBS:-2}
EXPORT=${EXPORT:-cnn-aug-s1,ien-b1-s1}
export ROT_TRACK_THREADS=1
FILES=()
eval_one() {
  local name=$1 dir=$2 out=$2/eval-$N.json exp=()
  if [[ ",$EXPORT," == *",$name,"* ]]; then exp=(--export "$name" --export-dir tracker/models/classifiers); fi
  nice -n 10 node --import tsx training/cli/eval-classifier.ts --backend native-cpu --test-size "$N" --lg-count 200 \
    --model "$name=$dir" --json "$out.tmp" "${exp[@]}" > /dev/null
  mv "$out.tmp" "$out"
}
for n in cnn cnn-aug cnn-aug-ien gcnn-c4 steerable-c8 ien-b1 het-ien-b1; do
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
# merge, print the table, render the report with the notes, these commands and the paper's Table 5 beside ours
node --import tsx training/cli/eval-classifier.ts --results "$(IFS=,; echo "${FILES[*]}")" --report reports/rot-mnist \
  --notes reports/rot-mnist/notes.md --commands reports/rot-mnist/commands.txt --reference reports/rot-mnist/paper-table5.json
