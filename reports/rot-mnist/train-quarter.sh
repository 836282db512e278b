#!/usr/bin/env bash
# Rot-MNIST at ×1/4 of the paper's widths on the full 10k training split (2k validation after every epoch), the
# paper's schedule shape (Adam, one-cycle 1e-5 → 5e-3 → 1e-5 over 70/90 of the steps, then 20/90 at 1e-5) shortened
# to EPOCHS (default 10), native-cpu backend (OpenBLAS), niced. Resumable: a killed run continues from its checkpoint.
# Why ×1/4 and 10 epochs: measured s/epoch at ×1/4 (10k digits, batch 64, one core): cnn 55, steerable-c8 54,
# gcnn-c4 65, het-ien 114, ien 119 — the paper's ×1 widths cost ~16× that (ien ×1/2: 310 s/epoch), so 90 epochs of
# six models do not fit a 3-hour session on 2 cores (see report.md).
# cnn-aug is the plain CNN with rotation augmentation (design/method.md); cnn-aug-ien is CNN-aug as issue 16 reads
# the paper ("CNN4-aug: regular CNN models similar in architecture to those of R4 at inference"): the IEN network
# itself, β = 0, rotation augmentation — same channels as ien-b1, so the two differ only by the equivariance loss.
# Usage: bash reports/rot-mnist/train-quarter.sh name [name ...]   (two chains may run at once, one per core)
# WIDTH=0.5 OUT=runs/rot-mnist-half bash reports/rot-mnist/train-quarter.sh ien-b1   (the width check of report.md)
# DATASET=scale-mnist OUT=runs/scale-mnist-quarter bash reports/rot-mnist/train-quarter.sh cnn ien-b0 ien-s4-b1
#   (reports/scale-mnist: ien-b0 is the IEN network without the loss, ien-s4-b1 IEN with the S4 scale loss, β 1)
# DATASET=r2-mnist OUT=runs/r2-mnist-quarter bash reports/rot-mnist/train-quarter.sh cnn cnn-aug-rf ien-d4-b1
#   (reports/r2-mnist: rotation + reflection; ien-d4-b1 is the R4R IEN — groups of 8, the D4 loss, β 1;
#    cnn-aug-ien-rf is the same R8 network with β 0 and rotate-flip augmentation, the paper's CNN-aug for R4R)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-runs/rot-mnist-quarter}
SEED=${SEED:-1}
EPOCHS=${EPOCHS:-10}
WIDTH=${WIDTH:-0.25}
DATASET=${DATASET:-rot-mnist}
# one BLAS thread per run: two chains on two cores, each with the add-on's default 2 threads, ran 2.2× slower per step
export ROT_TRACK_THREADS=${ROT_TRACK_THREADS:-1}
COMMON=(--dataset "$DATASET" --width "$WIDTH" --epochs "$EPOCHS" --train-size 10000 --val-size 2000 --seed "$SEED" --backend native-cpu --quiet)
declare -A ARGS=(
  [cnn]="--variant cnn"
  [cnn-aug]="--variant cnn --augment rotate"
  [cnn-aug-ien]="--variant ien --beta 0 --augment rotate"
  [gcnn-c4]="--variant gcnn-c4"
  [steerable-c8]="--variant steerable-c8"
  [ien-b1]="--variant ien --beta 1"
  [ien-b0.1]="--variant ien --beta 0.1"
  [het-ien-b1]="--variant het-ien --beta 1"
  [ien-b0]="--variant ien --beta 0"
  [ien-s4-b1]="--variant ien --beta 1 --loss-group S4"
  [cnn-aug-rf]="--variant cnn --augment rotate-flip"
  [ien-d4-b1]="--variant ien --groups R8 --beta 1 --loss-group D4"
  [gcnn-d4]="--variant gcnn-d4"
  [cnn-aug-ien-rf]="--variant ien --groups R8 --beta 0 --loss-group D4 --augment rotate-flip"
)
for name in "$@"; do
  [ -n "${ARGS[$name]:-}" ] || { echo "train-quarter.sh: unknown model \"$name\" (one of: ${!ARGS[*]})" >&2; exit 2; }
  dir="$OUT/$name-s$SEED"
  mkdir -p "$dir"
  if [ -s "$dir/result.json" ]; then echo "$name-s$SEED: done already"; continue; fi
  resume=()
  if [ -f "$dir/checkpoint/state.json" ]; then resume=(--resume); fi
  # shellcheck disable=SC2086
  /usr/bin/time -f '%U user %S sys %e wall' -o "$dir/time.txt" \
    nice -n 10 node --import tsx training/cli/train-classifier.ts ${ARGS[$name]} --name "$name" "${COMMON[@]}" \
      "${resume[@]}" --out "$dir" > "$dir/result.json.tmp"
  mv "$dir/result.json.tmp" "$dir/result.json"
  echo "$name-s$SEED: $(cat "$dir/time.txt") $(cat "$dir/result.json")"
done
