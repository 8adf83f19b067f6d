# Shared by packaging/deb/build, packaging/rpm/build and offline-bundle/build (sourced, not run).
# Knows the version, finds or builds the AOT binaries, and lays out the installed file tree.
set -euo pipefail

PKG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG_DIR="$PKG_ROOT/packaging"
PKG_NAME=ttnoded
PKG_VERSION=$(tr -d ' \t\r\n' <"$PKG_ROOT/VERSION")
[[ $PKG_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([.~+][0-9A-Za-z.]+)?$ ]] || { echo "packaging: VERSION '$PKG_VERSION' is not a version" >&2; exit 1; }
PKG_MAINTAINER=${TTNODED_MAINTAINER:-"ttnoded maintainers <ttnoded-maintainers@example.com>"}
PKG_SUMMARY="Tenstorrent node agent for air-gapped AI servers"
# Reproducible timestamps: the last commit, unless the caller fixed one.
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$PKG_ROOT" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

log() { printf '%s: %s\n' "${PKG_TOOL:-packaging}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Sets PKG_BIN to a directory holding ttnoded, ttctl and libe_sqlite3.so.
# TT_BIN_DIR (as in the tests) is used as is. Otherwise artifacts/bin is used when it is newer than every source file,
# and rebuilt with scripts/publish (under the shared dotnet build lock unless TT_NO_DOTNET_LOCK=1) when it is not.
ensure_binaries() {
  local need=(ttnoded ttctl libe_sqlite3.so) f
  if [[ -n ${TT_BIN_DIR:-} ]]; then
    PKG_BIN=$TT_BIN_DIR
  else
    PKG_BIN="$PKG_ROOT/artifacts/bin"
    local stale=0
    for f in "${need[@]}"; do [[ -f $PKG_BIN/$f ]] || stale=1; done
    if ((stale == 0)); then
      local newer
      newer=$(find "$PKG_ROOT/src" "$PKG_ROOT/Directory.Build.props" "$PKG_ROOT/Directory.Packages.props" "$PKG_ROOT/VERSION" \
        \( -name bin -o -name obj \) -prune -o -type f -newer "$PKG_BIN/ttnoded" -print -quit)
      [[ -z $newer ]] || { log "binaries older than $newer"; stale=1; }
    fi
    if ((stale)); then
      log "publishing the AOT binaries into $PKG_BIN"
      if [[ ${TT_NO_DOTNET_LOCK:-0} == 1 ]]; then
        "$PKG_ROOT/scripts/publish" "$PKG_BIN" >&2
      else
        flock /tmp/dotnet.lock "$PKG_ROOT/scripts/publish" "$PKG_BIN" >&2
      fi
    fi
  fi
  for f in "${need[@]}"; do [[ -f $PKG_BIN/$f ]] || die "$PKG_BIN/$f is missing"; done
  local v
  v=$("$PKG_BIN/ttnoded" --version) || die "$PKG_BIN/ttnoded --version failed"
  [[ $v == "ttnoded $PKG_VERSION" ]] || die "$PKG_BIN/ttnoded says '$v', VERSION says $PKG_VERSION: rebuild the binaries"
}

# Lays out the installed tree under $1. $2 is the systemd unit directory (Debian 12: /lib/systemd/system; RPM: /usr/lib/...).
# Binaries live in /usr/lib/ttnoded next to libe_sqlite3.so, which they load through their RUNPATH $ORIGIN (NativeAOT
# links every executable with it); /usr/bin holds symlinks, and $ORIGIN resolves through them to /usr/lib/ttnoded.
stage_tree() {
  local dest=$1 unitdir=$2
  rm -rf "$dest"
  install -d -m 0755 "$dest/usr/lib/ttnoded" "$dest/usr/bin" "$dest$unitdir" "$dest/usr/lib/sysusers.d" \
    "$dest/usr/lib/tmpfiles.d" "$dest/etc/ttnoded/trusted-keys" "$dest/usr/share/bash-completion/completions" \
    "$dest/usr/share/man/man1" "$dest/usr/share/man/man8"
  install -m 0755 "$PKG_BIN/ttnoded" "$PKG_BIN/ttctl" "$dest/usr/lib/ttnoded/"
  install -m 0644 "$PKG_BIN/libe_sqlite3.so" "$dest/usr/lib/ttnoded/"
  # The NuGet build of SQLite carries its symbol table; the executables are already stripped by the publish.
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$dest/usr/lib/ttnoded/libe_sqlite3.so"
  ln -s ../lib/ttnoded/ttnoded "$dest/usr/bin/ttnoded"
  ln -s ../lib/ttnoded/ttctl "$dest/usr/bin/ttctl"
  install -m 0644 "$PKG_DIR/systemd/ttnoded.service" "$PKG_DIR/systemd/ttnoded.socket" "$dest$unitdir/"
  install -m 0644 "$PKG_DIR/systemd/ttnoded.sysusers" "$dest/usr/lib/sysusers.d/ttnoded.conf"
  install -m 0644 "$PKG_DIR/systemd/ttnoded.tmpfiles" "$dest/usr/lib/tmpfiles.d/ttnoded.conf"
  install -m 0644 "$PKG_DIR/config/ttnoded.json" "$dest/etc/ttnoded/ttnoded.json"
  install -m 0644 "$PKG_DIR/completion/ttctl.bash" "$dest/usr/share/bash-completion/completions/ttctl"
  python3 "$PKG_DIR/tools/mkman.py" --version "$PKG_VERSION" --ttctl "$PKG_BIN/ttctl" --ttnoded "$PKG_BIN/ttnoded" \
    --template-dir "$PKG_DIR/man" --out "$dest/usr/share/man"
  gzip -9n "$dest/usr/share/man/man1/ttctl.1" "$dest/usr/share/man/man8/ttnoded.8"
  # Owners are set by the package formats (root:root); mtimes are clamped for reproducible archives.
  find "$dest" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# Library sonames the daemon dlopens (LibraryImport, so no DT_NEEDED entry) and the versioned symbols it takes from
# libsystemd.so.0: read from the source, so a new sd_* import shows up in the package's dependencies.
systemd_symbols() {
  grep -rhoE 'EntryPoint = "sd_[a-z0-9_]+"' "$PKG_ROOT/src/ttnoded" --include='*.cs' | sed -E 's/.*"(sd_[a-z0-9_]+)"/\1/' | sort -u
}
