#!/usr/bin/env bash
# Issue 14's evaluation: every trained run under runs/ordering/models (plus the untrained template matcher) on
#   real      the 15 held-out real sequences (otb-mini + the test side of otb-real), Rot-OTB at Δ = 0, 1, 2 °/frame
#   synthetic 15 synthetic sequences whose targets turn ±2 °/frame (seed 13), the frames not turned (Δ = 0)
#   control   15 synthetic sequences with no rotation at all (seed 17), Δ = 0: the rotation-free control
# and, with --rot T, the same runs with T rotated templates ('+rotT') on the real set at Δ = 1, 2.
# Resumable (finished sequences are skipped), so it can be re-run as more runs finish.
#
#   scripts/experiments/ordering-eval.sh [--workers 2] [--sets real,synthetic,control] [--rot 8] [--only <regex>]
set -euo pipefail
cd "$(dirname "$0")/../.."
workers=2
sets="real,synthetic,control"
rot=""
only="."
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workers) workers="$2"; shift 2 ;;
    --sets) sets="$2"; shift 2 ;;
    --rot) rot="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "ordering-eval: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -d runs/ordering/models ]] || { echo "ordering-eval: no runs/ordering/models (run scripts/experiments/ordering-train.sh first)" >&2; exit 1; }
models=$(ls runs/ordering/models | grep -E -- "$only" | sort | sed 's|^|runs/ordering/models/|' | paste -sd, -)
[[ -n "$models" ]] || { echo "ordering-eval: no model matches --only $only" >&2; exit 1; }
for d in runs/data/ordering-rot runs/data/ordering-still; do
  [[ -d $d ]] || { echo "ordering-eval: $d missing; make it with:" >&2
    echo "  npm run data:synthetic -- --out runs/data/ordering-rot --layout otb --count 15 --frames 120 --seed 13 --rotation-rate 2" >&2
    echo "  npm run data:synthetic -- --out runs/data/ordering-still --layout otb --count 15 --frames 120 --seed 17 --rotation-rate 0" >&2
    exit 1; }
done
ev() { node --import tsx eval/cli/eval.ts --workers "$workers" --no-png "$@"; }
real=(--otb ../shared/data/otb-mini,../shared/data/otb-real --split-file data/splits/real-sequences.json)
if [[ -n "$rot" ]]; then
  rotated=$(echo "$models" | tr ',' '\n' | sed "s/\$/+rot$rot/" | paste -sd, -)
  ev --trackers "template-matching+rot$rot,$rotated" "${real[@]}" --deltas 1,2 --out runs/ordering/eval/real-rot$rot
  exit 0
fi
[[ ,$sets, == *,real,* ]] && ev --trackers "template-matching,$models" "${real[@]}" --deltas 0,1,2 --out runs/ordering/eval/real
[[ ,$sets, == *,synthetic,* ]] && ev --trackers "template-matching,$models" --otb runs/data/ordering-rot --deltas 0 --out runs/ordering/eval/synthetic
[[ ,$sets, == *,control,* ]] && ev --trackers "template-matching,$models" --otb runs/data/ordering-still --deltas 0 --out runs/ordering/eval/control
exit 0
