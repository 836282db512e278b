#!/usr/bin/env bash
# Evaluates every trained model of train-all.sh / train-long.sh (accuracy on the first 10k of the 50k Rot-MNIST test
# digits, per-layer L_G on the first 200 test digits), writes reports/rot-mnist/eighth/{report.md,results.json,lg.svg,lg.png}
# and exports the demo models (with their metrics) to tracker/models/classifiers/.
set -euo pipefail
cd "$(dirname "$0")/../../.."
R=${OUT:-runs/rot-mnist}
MODELS=()
for n in cnn cnn-aug cnn-aug-6ep gcnn-c4 steerable-c8 ien-b1 ien-b1-6ep ien-b0.1 het-ien-b1 het-ien-b0.1; do
  [ -f "$R/$n/model/model.json" ] && MODELS+=(--model "$n=$R/$n")
done
nice -n 10 node --import tsx training/cli/eval-classifier.ts --backend wasm --test-size 10000 --lg-count 200 \
  "${MODELS[@]}" --json "$R/results.json" --export "${EXPORT:-cnn,ien-b1-6ep}" --export-dir tracker/models/classifiers
# re-render only (no evaluation): the report with the notes and these commands
node --import tsx training/cli/eval-classifier.ts --results "$R/results.json" --report reports/rot-mnist/eighth \
  --notes reports/rot-mnist/eighth/notes.md --commands reports/rot-mnist/eighth/commands.txt
