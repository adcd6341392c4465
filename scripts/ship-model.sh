#!/usr/bin/env bash
# Issue 14 part 3: train the candidate for engine/models/sudoku-cpu.pt, then measure it.
#
#   scripts/ship-model.sh train [DIR]      data + training; rerun it to resume (default DIR: ship/)
#   scripts/ship-model.sh eval  CKPT [DIR] convert CKPT, measure it beside today's shipped model
#
# Recipe (chosen after docs/RESULTS.md section 4's 3-seed study): width 128, the depth curriculum
# alone (the fastest variant to every accuracy), the reference halting bias, AdamATan2 at lr 2e-3
# with a cosine schedule, EMA 0.99; 10k training puzzles with 24-40 givens, validated on 200 with
# 26-34. 4000 steps; a run directory under DIR survives SIGTERM and resumes. Nothing here is
# downloaded; run it from the repository root with trm installed.
set -euo pipefail
mode=${1:?usage: ship-model.sh train [DIR] | eval CKPT [DIR]}
here=$PWD

data() {  # the training, validation and the held-out sets, each made once
  [ -f train24.csv ] || trm data generate --count 10000 --out train24.csv --min-clues 24-40 --seed 17 --workers 2
  [ -f val26.csv ] || trm data generate --count 500 --out val26.csv --min-clues 26-34 --seed 18 --workers 2
  [ -f held200.csv ] || trm data generate --count 200 --out held200.csv --min-clues 26-34 --seed 99
  [ -f minimal200.csv ] || trm data generate --count 200 --out minimal200.csv --seed 100
}

case $mode in
train)
  dir=${2:-ship}
  mkdir -p "$dir" && cd "$dir" && data
  if [ -f runs/d128/checkpoints/latest.pt ]; then
    exec trm train --resume runs/d128
  fi
  exec trm train --depth-curriculum --preset cpu --data train24.csv,val26.csv --run-dir runs/d128 \
    --set model.d=128 --set optim.lr=2e-3 --set optim.puzzle_emb_lr=2e-3 \
    --set optim.lr_schedule=cosine --set optim.ema=0.99 --set data.n_test=200 \
    --set train.max_steps=4000 --set train.eval_every=500
  ;;
eval)
  ckpt=$(realpath "${2:?eval needs a checkpoint}")
  dir=${3:-ship}
  mkdir -p "$dir" && cd "$dir" && data
  name=$(basename "$ckpt" .pt)
  out=eval-$name && mkdir -p "$out"
  [ -f "$out/model.pt" ] || trm convert "$ckpt" "$out/model.pt"
  today="$here/engine/models/sudoku-cpu.pt"
  b="--precision bf16 --batch-size 32"
  for m in "$out/model.pt" "$today"; do
    tag=$([ "$m" = "$today" ] && echo today || echo new)
    trm solve held200.csv --samples 1 --checkpoint "$m" $b > "$out/$tag-held-k1.txt"
    trm solve minimal200.csv --samples 1 --checkpoint "$m" $b > "$out/$tag-minimal-k1.txt"
    for s in easy medium hard famous; do
      trm solve "$here/puzzles/samples/$s.txt" --samples 8 --checkpoint "$m" $b > "$out/$tag-$s-k8.txt"
    done
  done
  trm solve held200.csv --samples 8 --checkpoint "$out/model.pt" $b > "$out/new-held-k8.txt"
  # one puzzle (the first medium sample) at the default K, alternating with today's model
  grep -v '^#' "$here/puzzles/samples/medium.txt" | grep . | head -n 9 > medium-first.txt
  for _ in 1 2 3 4; do
    for m in "$out/model.pt" "$today"; do
      /usr/bin/time -f "$m %e s" trm solve medium-first.txt --checkpoint "$m" \
        > /dev/null 2>> "$out/one-puzzle-time.txt" || true
    done
  done
  ls -l "$out/model.pt" > "$out/size.txt"
  tail -n 3 "$out"/*.txt
  ;;
*)
  echo "ship-model.sh: unknown mode '$mode' (train or eval)" >&2
  exit 2
  ;;
esac
