#!/usr/bin/env bash
# The CUDA path checked on one GPU in under 10 minutes, its figures in one JSON.
#
#   scripts/gpu-check.sh [OUT_DIR]        (default: gpu-check/; PYTHON=... picks the interpreter)
#
# Runs, each under its own time limit, in the repository root with this checkout first on the path
# (no install needed where torch, typer, rich and numpy already are):
#   1. the gpu-marked tests                                  (pytest -m gpu, 1 min at most)
#   2. trm bench train --preset paper, bf16, compile on/off  (2.5 min at most)
#   3. trm bench cgar --preset paper                         (1 min at most)
#   4. trm train --cgar --preset paper for 5 minutes, then SIGTERM (the run saves and exits 143)
# and writes OUT_DIR/gpu-check.json (scripts/gpu_check_report.py): versions, the device, each
# step's exit status and seconds, the bench rows, and the training run's throughput, compile time
# and the hours a full paper run would take at that rate. Logs stay in OUT_DIR.
set -u -o pipefail
out=${1:-gpu-check}
py=${PYTHON:-python3}
mkdir -p "$out"
: > "$out/steps.jsonl"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

step() {  # step NAME LIMIT_S COMMAND...: run it, log it, record its exit status and seconds
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout -s TERM -k 20 "$limit" "$@" > "$out/$name.out" 2> "$out/$name.err"
  local rc=$?
  printf '{"step": "%s", "rc": %d, "seconds": %d}\n' "$name" "$rc" $((SECONDS - start)) >> "$out/steps.jsonl"
  echo "$name: exit $rc after $((SECONDS - start)) s" >&2
}

step env 60 "$py" -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))"
# Only the files that hold gpu tests: the image lacks textual, which the dashboard tests import.
step tests 60 "$py" -m pytest -q -m gpu -p no:cacheprovider -o asyncio_mode=strict \
  tests/engine/test_precision.py tests/engine/test_device.py tests/engine/test_optim.py \
  tests/engine/test_compile.py
step bench_train 150 "$py" -m trm_tui.cli bench train --preset paper --device cuda --compile both --precision bf16 --json
step bench_cgar 60 "$py" -m trm_tui.cli bench cgar --preset paper --device cuda --json
rm -rf "$out/run"
step train 300 "$py" -m trm_tui.cli train --cgar --preset paper --run-dir "$out/run" --set train.device=cuda
"$py" scripts/gpu_check_report.py "$out" > "$out/gpu-check.json"
echo "wrote $out/gpu-check.json" >&2
