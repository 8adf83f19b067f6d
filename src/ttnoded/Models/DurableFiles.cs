using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ttnoded.Models;

/// <summary>fsync for files and directories, so a rename or a commit that returned survives a power cut.</summary>
internal static partial class DurableFiles
{
    // Linux open(2) flags. O_DIRECTORY and O_DIRECT trade values between x86_64 and arm64.
    private const int ORdOnly = 0, OWrOnly = 1, OCreat = 0x40, OExcl = 0x80, OCloExec = 0x80000;
    private static readonly bool Arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
    private static int ODirectory => Arm64 ? 0x4000 : 0x10000;
    private static int ODirect => Arm64 ? 0x10000 : 0x4000;
    private const int EInval = 22, ENoSpc = 28, EOpNotSupp = 95;

    /// <summary>
    /// A write-only temp file, preallocated to <paramref name="preallocate"/> bytes and fsync'ed before it is closed.
    /// Written with O_DIRECT where the filesystem allows it (see <see cref="DirectFileStream"/>); otherwise buffered.
    /// </summary>
    public static Stream CreateTemp(string path, long preallocate)
    {
        if (OperatingSystem.IsLinux() && DirectFileStream.TryCreate(path, preallocate) is { } direct) return direct;
        return new SyncedFileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 0,
            PreallocationSize = preallocate, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
    }

    /// <summary>fsyncs a directory (after creating, renaming or deleting entries in it).</summary>
    public static void SyncDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(dir, ORdOnly | ODirectory, 0);
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
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(SafeFileHandle fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(SafeFileHandle fd, long length);

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    private const uint SyncFileRangeWrite = 2;
    private const long WritebackChunk = 32L << 20;

    /// <summary>
    /// A temp file opened with O_DIRECT: writes go from the caller's buffer to the disk, skipping the page cache. On a
    /// VM the page-cache copy into freshly allocated pages was half of the daemon's CPU during a 2 GiB import and
    /// made buffered writes several times slower than the disk (dd: 347 MB/s buffered, 2.1 GB/s direct). Page-aligned
    /// writes of whole pages (what BundleReader's aligned buffers give) go straight out; anything else is gathered in
    /// an aligned staging buffer. The tail is written padded to a page and the file truncated to its length. Closing
    /// fsyncs, exactly as the buffered path does: O_DIRECT alone promises nothing about durability.
    /// </summary>
    private sealed unsafe class DirectFileStream : Stream
    {
        private const int Align = TtBundles.BundleReader.BufferAlignment;
        private const int StageBytes = 1 << 20;
        private readonly SafeFileHandle _fd;
        private long _flushed; // bytes on disk (a multiple of Align until the tail)
        private byte[]? _stageArray;
        private int _stageOffset, _staged;
        private bool _closed;

        private DirectFileStream(SafeFileHandle fd) => _fd = fd;

        /// <summary>The stream, or null when this filesystem refuses O_DIRECT (tmpfs, some FUSE): use buffered writes.</summary>
        public static DirectFileStream? TryCreate(string path, long preallocate)
        {
            int raw = Open(path, OWrOnly | OCreat | OExcl | OCloExec | ODirect, 0b110_000_000);
            if (raw < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EInval) return null;
                throw new IOException($"cannot create {path} (errno {errno})");
            }
            var fd = new SafeFileHandle(raw, ownsHandle: true);
            if (preallocate > 0 && Fallocate(fd, 0, 0, preallocate) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == ENoSpc)
                {
                    fd.Dispose();
                    throw new IOException($"cannot allocate {preallocate} bytes for {path}: the disk is full");
                }
                if (errno != EOpNotSupp) { fd.Dispose(); throw new IOException($"fallocate {path} failed (errno {errno})"); }
            }
            return new DirectFileStream(fd);
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => !_closed;
        public override long Length => _flushed + _staged;
        public override long Position { get => Length; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> data)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            while (data.Length > 0)
            {
                if (_staged == 0 && data.Length >= Align && IsAligned(data))
                {
                    int whole = data.Length & ~(Align - 1);
                    WriteOut(data[..whole]);
                    data = data[whole..];
                    continue;
                }
                var stage = Stage();
                int n = Math.Min(StageBytes - _staged, data.Length);
                data[..n].CopyTo(stage[_staged..]);
                _staged += n;
                data = data[n..];
                if (_staged == StageBytes) { WriteOut(stage); _staged = 0; }
            }
        }

        private static bool IsAligned(ReadOnlySpan<byte> data)
        {
            fixed (byte* p = data) return (nuint)p % Align == 0;
        }

        private Span<byte> Stage()
        {
            if (_stageArray is null)
            {
                _stageArray = GC.AllocateUninitializedArray<byte>(StageBytes + Align, pinned: true);
                fixed (byte* p = _stageArray) _stageOffset = (int)((Align - (nuint)p % Align) % Align);
            }
            return _stageArray.AsSpan(_stageOffset, StageBytes);
        }

        private void WriteOut(ReadOnlySpan<byte> data)
        {
            RandomAccess.Write(_fd, data, _flushed);
            _flushed += data.Length;
        }

        public override void Flush() { } // whole pages are written as they come; the tail needs the length, at close

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_closed)
            {
                _closed = true;
                try
                {
                    if (_staged > 0)
                    {
                        // O_DIRECT writes whole pages: pad the tail with zeros, then cut the file to its true length.
                        long length = _flushed + _staged;
                        int padded = (_staged + Align - 1) & ~(Align - 1);
                        var stage = Stage();
                        stage[_staged..padded].Clear();
                        WriteOut(stage[..padded]);
                        if (Ftruncate(_fd, length) != 0) throw new IOException($"ftruncate failed (errno {Marshal.GetLastPInvokeError()})");
                    }
                    if (Fsync(_fd) != 0) throw new IOException($"fsync failed (errno {Marshal.GetLastPInvokeError()})");
                }
                finally
                {
                    _fd.Dispose();
                }
            }
            base.Dispose(disposing);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>
    /// The buffered fallback. Starts writeback of every 32 MiB as it is written (sync_file_range WRITE, which does not
    /// wait), so the fsync at close finds little left to do. Without it a multi-GiB import sits in the page cache below
    /// the dirty threshold and the final fsync writes it all serially, doubling the import time.
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
