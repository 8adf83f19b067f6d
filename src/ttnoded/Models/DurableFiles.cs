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

    private sealed class SyncedFileStream(string path, FileStreamOptions options) : FileStream(path, options)
    {
        private bool _synced;

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
