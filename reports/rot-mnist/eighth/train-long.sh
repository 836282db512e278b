#!/usr/bin/env bash
# Extra rows of the reduced Table 5, run after train-all.sh (one run at a time, niced, wasm backend):
# IEN (β = 1) and CNN-aug with 3× the epochs (6 epochs, 372 steps), and Het-IEN with β = 0.1 (2 epochs).
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-runs/rot-mnist}
COMMON=(--width 0.125 --train-size 4000 --val-size 500 --tail 0 --backend wasm --quiet)
declare -A ARGS=(
  [ien-b1-6ep]="--variant ien --beta 1 --epochs 6"
  [het-ien-b0.1]="--variant het-ien --beta 0.1 --epochs 2"
  [cnn-aug-6ep]="--variant cnn --augment rotate --epochs 6"
)
ORDER=(ien-b1-6ep het-ien-b0.1 cnn-aug-6ep)
[ $# -gt 0 ] && ORDER=("$@")
for name in "${ORDER[@]}"; do
  mkdir -p "$OUT/$name"
  # shellcheck disable=SC2086
  /usr/bin/time -f '%U user %S sys %e wall' -o "$OUT/$name/time.txt" \
    nice -n 10 node --import tsx training/cli/train-classifier.ts ${ARGS[$name]} --name "$name" "${COMMON[@]}" \
      --out "$OUT/$name" > "$OUT/$name/result.json"
  echo "$name: $(cat "$OUT/$name/time.txt") $(cat "$OUT/$name/result.json")"
done
