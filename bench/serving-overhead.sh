#!/usr/bin/env bash
# The daemon's serving overhead on one model (issue 8's report), measured in one run:
#   ROUNDS times, alternating: `ttctl engine bench` (the engine alone, in-process: prefill of ISL tokens, decode of OSL)
#   and `ttctl bench --concurrency 1` through ttnoded's /v1/completions over the Unix socket; each round's pair is
#   compared (TTFT vs the engine's prefill time for ISL tokens, TPOT vs its ms per decoded token) and the median of the
#   rounds reported, because this shared machine's speed drifts by tens of percent between minutes.
#   Then one `ttctl bench --concurrency 2,4` for the batching figures.
# Usage: MODEL_GGUF=/tmp/m/1b-q4_0.gguf bench/serving-overhead.sh [ISL] [OSL] [SECONDS_PER_CELL] [ROUNDS]  (128 64 30 3)
# Binaries from $BIN (default artifacts/bin: run scripts/publish first). Both use the engine's default thread count.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${BIN:-$root/artifacts/bin}
gguf=${MODEL_GGUF:?set MODEL_GGUF to a GGUF file (e.g. from ttctl engine synth --shape llama-3.2-1b --type q4_0)}
isl=${1:-128}; osl=${2:-64}; secs=${3:-30}; rounds=${4:-3}
name=overhead
. bench/private-daemon.sh

for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: engine alone, then the daemon at concurrency 1" >&2
  "$bin/ttctl" engine bench --gguf "$gguf" --pp "$isl" --tg "$osl" --json >"$run/engine$r.json"
  "$bin/ttctl" bench --model overhead --concurrency 1 --isl "$isl" --osl "$osl" --duration "$secs" --json >"$run/serving$r.json" 2>/dev/null
done
echo "batching: the daemon at concurrency 2 and 4" >&2
"$bin/ttctl" bench --model overhead --concurrency 2,4 --isl "$isl" --osl "$osl" --duration "$secs" --json >"$run/batch.json" 2>/dev/null

python3 - "$run" "$rounds" "$gguf" <<'PY'
import json, os, statistics, sys
run, rounds, gguf = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows, ttft_d, tpot_r = [], [], []
for r in range(1, rounds + 1):
    e = json.load(open(f"{run}/engine{r}.json"))
    c = json.load(open(f"{run}/serving{r}.json"))["cells"][0]
    e_ttft = e["pp"] / e["prefill_tok_s"] * 1000
    e_tpot = 1000 / e["decode_tok_s"]
    ttft_d.append(c["ttftP50Ms"] - e_ttft)
    tpot_r.append((c["tpotP50Ms"] - e_tpot) / e_tpot * 100)
    rows.append((r, e_ttft, c["ttftP50Ms"], e_tpot, c["tpotP50Ms"], c["requests"]))
print(f"model {os.path.basename(gguf)} ({e['name']}), engine threads {e['threads']}, ISL {c['isl']} (engine pp {e['pp']}), "
      f"OSL {e['tg']}, {c['seconds']:.0f} s per daemon cell\n")
print("| round | engine prefill ms (ISL) | daemon TTFT p50 ms | TTFT Δ ms | engine ms/token | daemon TPOT p50 ms | TPOT Δ | requests |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for (r, et, dt, ep, dp, n), d, p in zip(rows, ttft_d, tpot_r):
    print(f"| {r} | {et:.1f} | {dt:.1f} | {d:+.1f} | {ep:.2f} | {dp:.2f} | {p:+.1f}% | {n} |")
print(f"\nmedian daemon overhead at concurrency 1: TTFT {statistics.median(ttft_d):+.1f} ms (goal < 5 ms), "
      f"TPOT {statistics.median(tpot_r):+.1f}% (goal < 3%)\n")
print("| concurrency | requests | errors | TTFT p50 ms | TTFT p99 ms | TPOT p50 ms | TPOT p99 ms | output tok/s |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
cells = [json.load(open(f"{run}/serving{r}.json"))["cells"][0] for r in range(1, rounds + 1)] + json.load(open(f"{run}/batch.json"))["cells"]
for c in cells:
    print(f"| {c['concurrency']} | {c['requests']} | {c['errors']} | {c['ttftP50Ms']:.1f} | {c['ttftP99Ms']:.1f} | "
          f"{c['tpotP50Ms']:.2f} | {c['tpotP99Ms']:.2f} | {c['outputTokPerSec']:.1f} |")
PY
