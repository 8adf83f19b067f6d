using System.Runtime.InteropServices;

namespace Ttnoded.Models;

/// <summary>fsync for files and directories, so a rename or a commit that returned survives a power cut.</summary>
internal static partial class DurableFiles
{
    private const int ORdOnly = 0, ODirectory = 0x10000; // Linux x86_64/arm64 values

    /// <summary>A write-only temp file that is fsync'ed before it is closed.</summary>
    public static FileStream CreateTemp(string path, long preallocate) =>
        new SyncedFileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 0,
            PreallocationSize = preallocate, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });

    /// <summary>fsyncs a directory (after creating, renaming or deleting entries in it).</summary>
    public static void SyncDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(dir, ORdOnly | ODirectory);
        if (fd < 0) throw new IOException($"cannot open directory {dir} to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync {dir} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    private const uint SyncFileRangeWrite = 2;
    private const long WritebackChunk = 32L << 20;

    /// <summary>
    /// Starts writeback of every 32 MiB as it is written (sync_file_range WRITE, which does not wait), so the fsync at
    /// close finds little left to do. Without it a multi-GiB import sits in the page cache below the dirty threshold
    /// and the final fsync writes it all serially, doubling the import time.
    /// </summary>
    private sealed class SyncedFileStream(string path, FileStreamOptions options) : FileStream(path, options)
    {
        private bool _synced;
        private long _written, _scheduled;

        // Only the array overload is overridden: for a derived type, FileStream routes span writes through it, and
        // overriding both (each calling the other's base) recurses.
        public override void Write(byte[] buffer, int offset, int count)
        {
            base.Write(buffer, offset, count);
            _written += count;
            if (_written - _scheduled >= WritebackChunk && OperatingSystem.IsLinux())
            {
                bool added = false;
                SafeFileHandle.DangerousAddRef(ref added);
                try { _ = SyncFileRange((int)SafeFileHandle.DangerousGetHandle(), _scheduled, _written - _scheduled, SyncFileRangeWrite); }
                finally { if (added) SafeFileHandle.DangerousRelease(); }
                _scheduled = _written; // best effort: a failure here only means the final fsync does more work
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_synced) { _synced = true; Flush(flushToDisk: true); }
            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync()
        {
            if (!_synced) { _synced = true; Flush(flushToDisk: true); }
            return base.DisposeAsync();
        }
    }
}
