#!/usr/bin/env bash
# Runs `ttctl bench` against a private ttnoded (user mode, everything under a temp dir) serving stories260K, or a GGUF
# given as $MODEL_GGUF. Binaries from $BIN (default artifacts/bin: run scripts/publish first).
# Usage: bench/openai-bench.sh [ttctl bench options...]   e.g. bench/openai-bench.sh --concurrency 1,2,4 --isl 128,1024 --osl 128 --duration 10
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${BIN:-$root/artifacts/bin}
gguf=${MODEL_GGUF:-$root/../shared/models/stories260K/stories260K.gguf}
name=${MODEL_NAME:-stories260k}
. bench/private-daemon.sh
"$bin/ttctl" bench --model "$name" "$@"
