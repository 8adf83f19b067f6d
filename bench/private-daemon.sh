# Sourced by bench scripts: starts a private user-mode ttnoded in a temp dir (stopped and removed on exit), exports
# TTCTL_SOCKET, and imports $gguf as model $name (unsigned bundle; trust policy warn). Needs $bin, $gguf, $name.
for b in ttnoded ttctl; do [ -x "$bin/$b" ] || { echo "$(basename "$0"): $bin/$b missing (scripts/publish $bin)" >&2; exit 1; }; done
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
"$bin/ttctl" model import "$run/m.ttmodel" >/dev/null 2>&1
rm -f "$run/m.ttmodel"
