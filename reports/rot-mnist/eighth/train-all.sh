#!/usr/bin/env bash
# Reduced Rot-MNIST Table 5: trains every variant one after the other (never two at once), niced, on the wasm backend.
# Reductions vs the paper (method.md): width ×1/8, 4000 of the 10k training digits, 2 epochs (one-cycle over all steps,
# no 1e-5 tail), validation on 500 of the 2k val digits. CPU seconds per run go to runs/rot-mnist/<name>/time.txt.
# Usage: bash reports/rot-mnist/eighth/train-all.sh [name ...]   (default: all, in the order below)
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-runs/rot-mnist}
COMMON=(--width 0.125 --epochs 2 --train-size 4000 --val-size 500 --tail 0 --backend wasm --quiet)
declare -A ARGS=(
  [cnn]="--variant cnn"
  [ien-b1]="--variant ien --beta 1"
  [cnn-aug]="--variant cnn --augment rotate"
  [gcnn-c4]="--variant gcnn-c4"
  [het-ien-b1]="--variant het-ien --beta 1"
  [ien-b0.1]="--variant ien --beta 0.1"
  [steerable-c8]="--variant steerable-c8"
)
ORDER=(cnn ien-b1 cnn-aug gcnn-c4 het-ien-b1 ien-b0.1 steerable-c8)
[ $# -gt 0 ] && ORDER=("$@")
for name in "${ORDER[@]}"; do
  mkdir -p "$OUT/$name"
  # shellcheck disable=SC2086
  /usr/bin/time -f '%U user %S sys %e wall' -o "$OUT/$name/time.txt" \
    nice -n 10 node --import tsx training/cli/train-classifier.ts ${ARGS[$name]} --name "$name" "${COMMON[@]}" \
      --out "$OUT/$name" > "$OUT/$name/result.json"
  echo "$name: $(cat "$OUT/$name/time.txt") $(cat "$OUT/$name/result.json")"
done
