#!/bin/sh
# Import throughput vs `cat FILE | sha256sum`, same file, same run (issue 7 "Measured").
# Usage: tests/Ttnoded.Tests/Models/import-bench.sh [SIZE_MIB]   (default 2048)
# Needs the Release ttnoded and a ttctl build: dotnet build src/ttnoded -c Release; dotnet build src/ttctl
set -eu
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
MIB=${1:-2048}
W=$(mktemp -d /tmp/ttimport-bench.XXXXXX)
trap 'kill $(cat $W/pid 2>/dev/null) 2>/dev/null || true; rm -rf $W' EXIT
BIN=${BIN:-$ROOT/src/ttnoded/bin/Release/net9.0}
CTL=${CTL:-$ROOT/src/ttctl/bin/Debug/net9.0}
python3 - "$W" "$MIB" <<'PY'
import hashlib, io, json, os, sys, tarfile
w, mib = sys.argv[1], int(sys.argv[2])
payload = os.path.join(w, "p.gguf")
h = hashlib.sha256()
chunk = os.urandom(16 << 20)
with open(payload, "wb") as f:
    for _ in range(mib // 16):
        f.write(chunk); h.update(chunk)
size = os.path.getsize(payload)
m = {"format_version": 1, "name": "bench", "version": "1", "architecture": "llama", "quantization": "F32",
     "parameter_count": 0, "context_length": 0, "chat_template": "none", "engine_version": "0.1.0",
     "hardware": {"devices": []}, "license": "MIT", "created": "2025-01-31T12:00:00Z",
     "files": [{"path": "p.gguf", "kind": "gguf", "size": size, "sha256": h.hexdigest()}]}
mb = (json.dumps(m, indent=2) + "\n").encode()
with tarfile.open(os.path.join(w, "bench.ttmodel"), "w", format=tarfile.USTAR_FORMAT) as t:
    ti = tarfile.TarInfo("manifest.json"); ti.size = len(mb); t.addfile(ti, io.BytesIO(mb))
    ti = tarfile.TarInfo("p.gguf"); ti.size = size
    with open(payload, "rb") as f: t.addfile(ti, f)
os.remove(payload)
PY
F=$W/bench.ttmodel
mkdir -p $W/sysroot
echo '{ "trust": { "policy": "warn", "keysDir": "'$W'/keys" } }' > $W/ttnoded.json
dotnet $BIN/ttnoded.dll --config $W/ttnoded.json --socket $W/run/s.sock --state-dir $W/state --log-dir $W/log --sysroot $W/sysroot > $W/out.log 2>&1 &
echo $! > $W/pid
while [ ! -S $W/run/s.sock ]; do sleep 0.2; done; sleep 1
cat $F > /dev/null   # warm the page cache for both contenders
t0=$(date +%s.%N); cat $F | sha256sum > /dev/null; t1=$(date +%s.%N)
dotnet $CTL/ttctl.dll -s $W/run/s.sock model import $F 2>/dev/null; t2=$(date +%s.%N)
cat $F | sha256sum > /dev/null; t3=$(date +%s.%N)
echo "daemon RSS high-water: $(grep VmHWM /proc/$(cat $W/pid)/status | tr -s ' ')"
python3 -c "
import os; n=os.path.getsize('$F'); a=$t1-$t0; b=$t2-$t1; c=$t3-$t2
print(f'bytes {n}: sha256sum {a:.2f}s and {c:.2f}s; ttctl model import {b:.2f}s ({n/b/2**20:.0f} MiB/s)')
print(f'import throughput = {min(a,c)/b*100:.0f}% of the faster sha256sum run, {max(a,c)/b*100:.0f}% of the slower')"
