#!/usr/bin/env bash
# Seconds per training step of the Rot-MNIST IEN classifier (β 1, two copies per digit, batch 64, one thread,
# native-cpu) at ×1/4, ×1/2 and ×1 of the paper's widths, with each GEMM of the add-on (tracker/native/src/gemm.h):
# the system BLAS and oneDNN. 20 steps (×1: 10) from a fresh network; the step record at the last logged step.
# Run on a quiet machine: bash reports/rot-mnist/speed.sh   (writes nothing outside $TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
export ROT_TRACK_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for w in 0.25 0.5 1; do
  n=1280; [ "$w" = 1 ] && n=640
  for g in openblas dnnl; do
    d=$tmp/ien-w$w-$g
    ROT_TRACK_GEMM=$g node --import tsx training/cli/train-classifier.ts --variant ien --beta 1 --width "$w" --epochs 1 \
      --train-size "$n" --val-size 0 --tail 0 --backend native-cpu --quiet --out "$d" > /dev/null
    echo "width $w, gemm $g: $(grep '"type":"step"' "$d/log.jsonl" | tail -1 | grep -o '"secPerStep":[0-9.]*' | cut -d: -f2) s/step"
  done
done
