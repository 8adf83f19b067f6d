using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ttnoded.Hardware;

/// <summary>
/// Exclusive use of a card: an flock(LOCK_EX) on one lock file per card identity (serial@BDF) in the lock
/// directory the daemon provides. The kernel drops an flock when its holder's fd closes, so the lock dies
/// with the holding process (crash included) — no stale lock to clean up, and two daemons sharing the lock
/// directory exclude each other. Deliberately NOT a lock on /dev/tenstorrent/N: keeping device fds open
/// shows up in /proc/driver/tenstorrent/N/pids, blocks O_EXCL users (KMD ≥ 2.10) and, without O_APPEND,
/// powers the chip up (KMD ≥ 2.6). Lock files are never deleted (deleting races with a concurrent locker).
/// </summary>
public sealed class CardLockManager
{
    private readonly ConcurrentDictionary<string, CardLease> _held = new(StringComparer.Ordinal);

    /// <summary>Creates the manager; the directory is created if missing.</summary>
    public CardLockManager(string lockDirectory)
    {
        LockDirectory = Path.GetFullPath(lockDirectory);
        Directory.CreateDirectory(LockDirectory);
    }

    /// <summary>Where the lock files live.</summary>
    public string LockDirectory { get; }

    /// <summary>Lock file of an identity (':' kept out of the name for portability).</summary>
    public string LockPath(string identity) =>
        Path.Join(LockDirectory, "card-" + identity.Replace(':', '_').Replace('/', '_') + ".lock");

    /// <summary>Tries to take the card; null when anyone (this or another process) holds it.</summary>
    public CardLease? TryAcquire(string identity, string owner)
    {
        if (_held.ContainsKey(identity)) return null;
        var handle = TryLock(LockPath(identity));
        if (handle is null) return null;
        var text = System.Text.Encoding.UTF8.GetBytes($"{owner} pid={Environment.ProcessId} since={DateTimeOffset.UtcNow:O}\n");
        RandomAccess.SetLength(handle, 0);
        RandomAccess.Write(handle, text, 0);
        var lease = new CardLease(this, identity, owner, handle);
        if (!_held.TryAdd(identity, lease)) { lease.Dispose(); return null; }
        return lease;
    }

    /// <summary>Who holds the card: the owner for our own leases, the lock file's text for another process, null if free.</summary>
    public string? OwnerOf(string identity)
    {
        if (_held.TryGetValue(identity, out var lease)) return lease.Owner;
        var path = LockPath(identity);
        if (!File.Exists(path)) return null;
        using var probe = TryLock(path);   // brief test-lock, released at once
        if (probe is not null) return null;
        return "other process: " + (ReadUnlocked(path) ?? "?");
    }

    /// <summary>Reads the owner line without .NET's advisory LOCK_SH (which the holder's LOCK_EX would refuse).</summary>
    private static string? ReadUnlocked(string path)
    {
        int fd = Native.Open(path, Native.O_RDONLY | Native.O_CLOEXEC);
        if (fd < 0) return null;
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        Span<byte> buf = stackalloc byte[512];
        int n = RandomAccess.Read(handle, buf, 0);
        return System.Text.Encoding.UTF8.GetString(buf[..n]).Trim();
    }

    internal void Release(CardLease lease) => _held.TryRemove(new KeyValuePair<string, CardLease>(lease.Identity, lease));

    private static SafeFileHandle? TryLock(string path)
    {
        SafeFileHandle handle;
        try
        {
            // FileShare.ReadWrite: we do the locking ourselves with flock, so .NET's advisory lock stays out of the way.
            handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (IOException) { return null; }   // .NET's own advisory lock of another opener
        if (Native.Flock(handle, Native.LOCK_EX | Native.LOCK_NB) == 0) return handle;
        int errno = Marshal.GetLastPInvokeError();
        handle.Dispose();
        if (errno == Native.EWOULDBLOCK) return null;
        throw new IOException($"flock({path}) failed: errno {errno}");
    }
}

/// <summary>A held card lock; dispose (or exit) to release.</summary>
public sealed class CardLease : IDisposable
{
    private readonly CardLockManager _manager;
    private SafeFileHandle? _handle;

    internal CardLease(CardLockManager manager, string identity, string owner, SafeFileHandle handle)
    {
        _manager = manager; Identity = identity; Owner = owner; _handle = handle;
    }

    /// <summary>Card identity (serial@BDF).</summary>
    public string Identity { get; }
    /// <summary>Who holds it (job id or similar).</summary>
    public string Owner { get; }
    /// <summary>False after Dispose.</summary>
    public bool IsHeld => _handle is not null;

    /// <inheritdoc/>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, null);
        if (h is null) return;
        _manager.Release(this);
        h.Dispose();   // closing the fd drops the flock
    }
}
