#!/usr/bin/env bash
# ttnoded offline install kit: verifies the kit, installs the package, trusts keys, starts ttnoded, imports the model
# bundles and checks the node. Prints each step; stops at the first failure with the reason. Run as root from the kit.
set -uo pipefail

usage() {
  cat <<'TXT'
usage: sudo ./install.sh [--verify-key KEY.pub] [--trust KEY.pub]... [--format deb|rpm] [--config FILE] [--skip-check]
  --verify-key KEY.pub  check SHA256SUMS.sig with this public key (the kit signer's; carry it separately from the kit)
  --trust KEY.pub       also trust this key for model bundles (as well as the kit's trusted-keys/*.pub)
  --format deb|rpm      package format (default: dpkg when this system has it, else rpm)
  --config FILE         install this ttnoded.json (default: the kit's config/ttnoded.json when present)
  --skip-check          do not run `ttctl node check` at the end
TXT
}

KIT=$(cd "$(dirname "$0")" && pwd)
verify_key="" format="" config="" skip_check=0; trust=()
while (($#)); do
  case $1 in
    --verify-key) verify_key=${2:?--verify-key needs a file}; shift 2 ;;
    --trust) trust+=("${2:?--trust needs a file}"); shift 2 ;;
    --format) format=${2:?--format needs deb or rpm}; shift 2 ;;
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --skip-check) skip_check=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

n=0
step() { n=$((n + 1)); printf '[%d] %s\n' "$n" "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
fail() { printf '    FAILED: %s\n' "$*" >&2; printf 'install.sh: stopped at step %d; nothing after it was done.\n' "$n" >&2; exit 1; }

step "checking prerequisites"
[[ $(id -u) -eq 0 ]] || fail "run as root (sudo ./install.sh)"
for tool in sha256sum find sort; do command -v "$tool" >/dev/null || fail "$tool is missing"; done
[[ -f $KIT/SHA256SUMS ]] || fail "$KIT/SHA256SUMS is missing: not a complete kit"
ok "kit at $KIT"

step "checking the signature of SHA256SUMS"
if [[ -n $verify_key ]]; then
  [[ -f $verify_key ]] || fail "$verify_key: no such key file"
  [[ -f $KIT/SHA256SUMS.sig ]] || fail "the kit is not signed (no SHA256SUMS.sig) but --verify-key was given"
  command -v openssl >/dev/null || fail "openssl is needed to check the signature"
  out=$(openssl dgst -sha256 -verify "$verify_key" -signature "$KIT/SHA256SUMS.sig" "$KIT/SHA256SUMS" 2>&1) \
    || fail "bad signature: SHA256SUMS was not signed by $verify_key or was altered (${out//$'\n'/ })"
  ok "signed by $verify_key"
elif [[ -f $KIT/SHA256SUMS.sig ]]; then
  echo "    WARNING: the kit is signed but no --verify-key was given: the signature is NOT checked"
else
  echo "    WARNING: the kit is not signed: only the checksums protect it"
fi

step "checking every file against SHA256SUMS"
listed=$(sed -E 's/^[0-9a-f]{64} [ *]//' "$KIT/SHA256SUMS" | LC_ALL=C sort) || fail "cannot read SHA256SUMS"
while IFS= read -r f; do
  [[ -n $f && $f != /* && $f != *..* ]] || fail "SHA256SUMS lists an unsafe path '$f'"
done <<<"$listed"
grep -Evq '^[0-9a-f]{64} [ *].+$' "$KIT/SHA256SUMS" && fail "SHA256SUMS has malformed lines"
unlisted=$(cd "$KIT" && find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig -printf '%P\n' | LC_ALL=C sort | comm -23 - <(echo "$listed"))
[[ -z $unlisted ]] || fail "files not listed in SHA256SUMS: ${unlisted//$'\n'/, }"
out=$(cd "$KIT" && sha256sum --check --strict --quiet SHA256SUMS 2>&1) || fail "checksum mismatch: ${out//$'\n'/; }"
ok "$(wc -l <"$KIT/SHA256SUMS") files intact"

step "choosing the package format"
if [[ -z $format ]]; then
  if command -v dpkg >/dev/null && [[ -f /var/lib/dpkg/status ]]; then format=deb
  elif command -v rpm >/dev/null; then format=rpm
  else fail "neither dpkg nor rpm found"; fi
fi
case $format in
  deb) pkg=$(ls "$KIT"/packages/ttnoded_*_amd64.deb 2>/dev/null | head -1) ;;
  rpm) pkg=$(ls "$KIT"/packages/ttnoded-*.x86_64.rpm 2>/dev/null | head -1) ;;
  *) fail "--format must be deb or rpm, not '$format'" ;;
esac
[[ -n $pkg ]] || fail "the kit has no $format package"
ok "$format: ${pkg#"$KIT"/}"

step "installing ${pkg##*/}"
if [[ $format == deb ]]; then
  # --force-confold: keep a configuration file the site already changed (the site config is installed next).
  out=$(DEBIAN_FRONTEND=noninteractive dpkg --force-confold -i "$pkg" 2>&1) || fail "dpkg -i failed: $out"
else
  out=$(rpm -U --replacepkgs "$pkg" 2>&1) || fail "rpm -U failed: $out"
fi
command -v ttctl >/dev/null && command -v ttnoded >/dev/null || fail "ttctl/ttnoded not on PATH after the install"
ok "$(ttnoded --version)"

step "installing trusted keys and the site configuration"
keys=("$KIT"/trusted-keys/*.pub "${trust[@]}")
count=0
for k in "${keys[@]}"; do
  [[ -e $k ]] || continue
  install -m 0644 -o root -g root "$k" /etc/ttnoded/trusted-keys/ || fail "cannot install $k"
  count=$((count + 1))
done
[[ -z $config && -f $KIT/config/ttnoded.json ]] && config=$KIT/config/ttnoded.json
if [[ -n $config ]]; then
  [[ -f $config ]] || fail "$config: no such file"
  install -m 0644 -o root -g root "$config" /etc/ttnoded/ttnoded.json || fail "cannot install $config"
fi
ok "$count key(s) in /etc/ttnoded/trusted-keys${config:+, configuration from $config}"

step "starting ttnoded"
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload || fail "systemctl daemon-reload failed"
  systemctl enable --now ttnoded.socket >/dev/null 2>&1 || fail "cannot start ttnoded.socket: $(systemctl status ttnoded.socket 2>&1 | tail -5)"
  # Restart so the daemon reads the keys and configuration just installed.
  systemctl restart ttnoded.service || fail "ttnoded.service did not start: see journalctl -u ttnoded"
  how="systemd (ttnoded.service)"
else
  # No systemd (container, chroot, rescue system): run the daemon directly as ttnode; the package's prerm stops it.
  pidfile=/run/ttnoded/ttnoded.pid
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill -TERM "$(cat "$pidfile")"; for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.2; done
  fi
  install -d -m 0755 -o ttnode -g ttnode /run/ttnoded /var/log/ttnoded || fail "cannot create /run/ttnoded"
  command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed to start ttnoded without systemd"
  setpriv --reuid=ttnode --regid=ttnode --init-groups /usr/bin/ttnoded </dev/null >>/var/log/ttnoded/console.log 2>&1 &
  echo $! >"$pidfile"
  how="directly, pid $(cat "$pidfile") (systemd is not running; log /var/log/ttnoded/console.log)"
fi
for _ in $(seq 120); do
  ttctl node status >/dev/null 2>&1 && break
  if [[ -z ${how##directly*} ]] && ! kill -0 "$(cat /run/ttnoded/ttnoded.pid)" 2>/dev/null; then
    fail "ttnoded exited: $(tail -5 /var/log/ttnoded/console.log)"
  fi
  sleep 0.5
done
out=$(ttctl node status 2>&1) || fail "ttnoded does not answer on /run/ttnoded/ttnoded.sock: $out"
ok "running $how"

models=("$KIT"/models/*.ttmodel)
if [[ -e ${models[0]} ]]; then
  for m in "${models[@]}"; do
    step "importing ${m##*/}"
    out=$(ttctl model import "$m" 2>&1) || fail "ttctl model import failed: $out"
    ok "${out//$'\n'/; }"
  done
fi

if ((skip_check == 0)); then
  step "checking the node (ttctl node check)"
  ttctl node check | sed 's/^/    /'
  rc=${PIPESTATUS[0]}
  ((rc == 0)) || fail "ttctl node check exited $rc: fix what it reports, then run 'ttctl node check' again"
  ok "node check passed"
fi
echo "done: ttnoded $(ttnoded --version | cut -d' ' -f2) is installed and running. Next: add operators with 'usermod -aG ttnode,ttadmin NAME'."
