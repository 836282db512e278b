#!/usr/bin/env bash
# Evaluates every model train-quarter.sh trained (runs/rot-mnist-quarter/<model>-s<seed>): accuracy on the full 50k
# Rot-MNIST test split, per-layer L_G (absolute and normalised by the feature variance) on the first 200 test digits;
# writes reports/rot-mnist/{report.md,results.json,lg.svg,lg.png} and exports the demo models (with their metrics) to
# tracker/models/classifiers/. TEST_SIZE=… evaluates on fewer digits (a quick look).
set -euo pipefail
cd "$(dirname "$0")/../.."
R=${OUT:-runs/rot-mnist-quarter}
MODELS=()
for n in cnn cnn-aug cnn-aug-ien gcnn-c4 steerable-c8 ien-b1 het-ien-b1; do
  for d in "$R/$n"-s*; do
    [ -f "$d/model/model.json" ] && MODELS+=(--model "$(basename "$d")=$d")
  done
done
[ ${#MODELS[@]} -gt 0 ] || { echo "eval.sh: no trained model under $R (run train-quarter.sh first)" >&2; exit 1; }
nice -n 10 node --import tsx training/cli/eval-classifier.ts --backend native-cpu --test-size "${TEST_SIZE:-50000}" --lg-count 200 \
  "${MODELS[@]}" --json "$R/results.json" --export "${EXPORT:-cnn-aug-s1,ien-b1-s1}" --export-dir tracker/models/classifiers
# re-render only (no evaluation): the report with the notes and these commands
node --import tsx training/cli/eval-classifier.ts --results "$R/results.json" --report reports/rot-mnist \
  --notes reports/rot-mnist/notes.md --commands reports/rot-mnist/commands.txt --reference reports/rot-mnist/paper-table5.json
