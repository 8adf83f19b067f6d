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
for b in ttnoded ttctl; do [ -x "$bin/$b" ] || { echo "openai-bench: $bin/$b missing (scripts/publish $bin)" >&2; exit 1; }; done
run=$(mktemp -d /tmp/ttbench.XXXXXX)
cleanup() { [ -f "$run/pid" ] && kill "$(cat "$run/pid")" 2>/dev/null; wait 2>/dev/null; rm -rf "$run"; }
trap cleanup EXIT
mkdir -p "$run/keys"
cat > "$run/ttnoded.json" <<JSON
{ "socketGroup": "$(id -gn)", "adminGroup": "$(id -gn)", "trust": { "policy": "warn", "keysDir": "$run/keys" } }
JSON
"$bin/ttnoded" --config "$run/ttnoded.json" --socket "$run/s.sock" --state-dir "$run/state" --log-dir "$run/log" >"$run/out" 2>&1 &
echo $! >"$run/pid"
export TTCTL_SOCKET=$run/s.sock
for _ in $(seq 1 100); do curl -sf --unix-socket "$TTCTL_SOCKET" http://x/api/v1/health >/dev/null 2>&1 && break; sleep 0.1; done
"$bin/ttctl" bundle create --gguf "$gguf" --name "$name" --version 1 --license MIT --device cpu -o "$run/m.ttmodel" >/dev/null
"$bin/ttctl" model import "$run/m.ttmodel" >/dev/null
"$bin/ttctl" bench --model "$name" "$@"
