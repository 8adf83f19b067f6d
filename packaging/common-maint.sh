# Shared maintainer-script functions for the .deb and the .rpm (inlined into each script at build time, so the
# installed scripts depend on nothing from this repository). POSIX sh; every function is idempotent.

# True when systemd is the running init (and we are not in a chroot): only then may units be started or stopped.
ttnoded_systemd_running() {
    [ -d /run/systemd/system ] || return 1
    if command -v systemd-detect-virt >/dev/null 2>&1 && systemd-detect-virt --quiet --chroot 2>/dev/null; then
        return 1
    fi
    return 0
}

# The system user ttnode and the groups ttnode and ttadmin (sysusers.d/ttnoded.conf; useradd when sysusers is absent).
ttnoded_create_users() {
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers /usr/lib/sysusers.d/ttnoded.conf
    else
        getent group ttnode >/dev/null || groupadd --system ttnode
        getent group ttadmin >/dev/null || groupadd --system ttadmin
        getent passwd ttnode >/dev/null || useradd --system --gid ttnode --home-dir /var/lib/ttnoded --no-create-home \
            --shell /usr/sbin/nologin --comment "Tenstorrent node agent" ttnode
    fi
}

# /run/ttnoded, /var/lib/ttnoded, /var/log/ttnoded (tmpfiles.d/ttnoded.conf; plain install -d without systemd-tmpfiles).
ttnoded_create_dirs() {
    if command -v systemd-tmpfiles >/dev/null 2>&1; then
        systemd-tmpfiles --create /usr/lib/tmpfiles.d/ttnoded.conf
    else
        install -d -m 0755 -o ttnode -g ttnode /run/ttnoded
        install -d -m 0750 -o ttnode -g ttnode /var/lib/ttnoded /var/log/ttnoded
    fi
}

# A ttnoded started without systemd (install.sh does that on hosts where systemd is not running) leaves its pid here.
ttnoded_stop_unmanaged() {
    pidfile=/run/ttnoded/ttnoded.pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    case "$pid" in ''|*[!0-9]*) rm -f "$pidfile"; return 0 ;; esac
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'ttnoded'; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while [ -d "/proc/$pid" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
        [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# Everything the package created at run time: state, logs, runtime files, site configuration, the user and groups.
ttnoded_purge_state() {
    rm -rf /var/lib/ttnoded /var/log/ttnoded /run/ttnoded /etc/ttnoded
    if getent passwd ttnode >/dev/null; then
        userdel ttnode >/dev/null 2>&1 || echo "ttnoded: could not delete the user ttnode (still running processes?)" >&2
    fi
    for g in ttnode ttadmin; do
        if getent group "$g" >/dev/null; then
            groupdel "$g" >/dev/null 2>&1 || echo "ttnoded: could not delete the group $g" >&2
        fi
    done
}
