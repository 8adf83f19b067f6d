#!/usr/bin/env bash
# The daemon's serving overhead on one model, measured in one run (issue 8's report):
#   1. `ttctl engine bench` on the GGUF: the engine alone, in-process (prefill of ISL tokens, decode of OSL tokens);
#   2. `ttctl bench` through ttnoded's /v1/completions over the Unix socket (bench/openai-bench.sh) at concurrency 1,2,4;
#   3. a markdown table: TTFT and TPOT per concurrency, and at concurrency 1 the difference against the engine alone
#      (TTFT vs the engine's prefill time for ISL tokens; TPOT vs the engine's ms per decoded token).
# Usage: MODEL_GGUF=/tmp/m/1b-q4_0.gguf bench/serving-overhead.sh [ISL] [OSL] [SECONDS_PER_CELL]   (defaults 128 128 30)
# Binaries from $BIN (default artifacts/bin: run scripts/publish first). Both runs use the engine's default thread count.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-$PWD/artifacts/bin}
gguf=${MODEL_GGUF:?set MODEL_GGUF to a GGUF file (e.g. from ttctl engine synth --shape llama-3.2-1b --type q4_0)}
isl=${1:-128}; osl=${2:-128}; secs=${3:-30}
out=$(mktemp -d /tmp/ttoverhead.XXXXXX)
trap 'rm -rf "$out"' EXIT

# The engine runs before and after the daemon: the machine's speed drifts, and the mean of the two brackets the daemon run.
"$bin/ttctl" engine bench --gguf "$gguf" --pp "$isl" --tg "$osl" --json >"$out/engine1.json"
BIN=$bin MODEL_GGUF=$gguf MODEL_NAME=overhead bench/openai-bench.sh --concurrency 1,2,4 --isl "$isl" --osl "$osl" \
    --duration "$secs" --json >"$out/serving.json"
"$bin/ttctl" engine bench --gguf "$gguf" --pp "$isl" --tg "$osl" --json >"$out/engine2.json"

python3 - "$out/engine1.json" "$out/engine2.json" "$out/serving.json" "$gguf" <<'PY'
import json, os, sys
e1 = json.load(open(sys.argv[1])); e2 = json.load(open(sys.argv[2])); srv = json.load(open(sys.argv[3])); gguf = sys.argv[4]
eng = dict(e1)
eng["prefill_tok_s"] = (e1["prefill_tok_s"] + e2["prefill_tok_s"]) / 2
eng["decode_tok_s"] = (e1["decode_tok_s"] + e2["decode_tok_s"]) / 2
isl, osl = eng["pp"], eng["tg"]
e_ttft = isl / eng["prefill_tok_s"] * 1000
e_tpot = 1000 / eng["decode_tok_s"]
print(f"engine runs (before / after the daemon): prefill {e1['prefill_tok_s']:.1f} / {e2['prefill_tok_s']:.1f} tok/s, "
      f"decode {e1['decode_tok_s']:.2f} / {e2['decode_tok_s']:.2f} tok/s\n")
print(f"model {os.path.basename(gguf)} ({eng['name']}), engine threads {eng['threads']}, ISL {isl}, OSL {osl}, "
      f"{srv['durationPerCellSeconds']:.0f} s per cell\n")
print(f"engine alone (`ttctl engine bench --pp {isl} --tg {osl}`, mean): prefill {eng['prefill_tok_s']:.1f} tok/s "
      f"→ {e_ttft:.1f} ms for the prompt; decode {eng['decode_tok_s']:.2f} tok/s → {e_tpot:.2f} ms/token\n")
print("| concurrency | requests | errors | TTFT p50 ms | TTFT p99 ms | TPOT p50 ms | TPOT p99 ms | output tok/s |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
one = None
for c in srv["cells"]:
    if c["concurrency"] == 1 and one is None: one = c
    print(f"| {c['concurrency']} | {c['requests']} | {c['errors']} | {c['ttftP50Ms']:.1f} | {c['ttftP99Ms']:.1f} | "
          f"{c['tpotP50Ms']:.2f} | {c['tpotP99Ms']:.2f} | {c['outputTokPerSec']:.1f} |")
if one:
    d_ttft = one["ttftP50Ms"] - e_ttft
    d_tpot = (one["tpotP50Ms"] - e_tpot) / e_tpot * 100
    print(f"\ndaemon overhead at concurrency 1: TTFT {d_ttft:+.1f} ms (goal < 5 ms), TPOT {d_tpot:+.1f}% (goal < 3%)")
PY
