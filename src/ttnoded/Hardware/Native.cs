using System.Runtime.InteropServices;

namespace Ttnoded.Hardware;

// libc calls the hardware subsystem needs and .NET does not expose: flock (card locks), open with
// O_APPEND on a read-write fd (non-powering device opens), stat (st_rdev of /dev nodes).
internal static unsafe partial class Native
{
    internal const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    internal const int O_RDONLY = 0x0, O_RDWR = 0x2, O_APPEND = 0x400, O_CLOEXEC = 0x80000;
    internal const int S_IFMT = 0xF000, S_IFCHR = 0x2000;
    internal const int EWOULDBLOCK = 11;

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    internal static partial int Flock(SafeHandle fd, int operation);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealpathRaw(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint p);

    /// <summary>realpath(3): every symlink component resolved against its real directory, as the kernel does.</summary>
    internal static string? Realpath(string path)
    {
        nint p = RealpathRaw(path, 0);
        if (p == 0) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { Free(p); }
    }

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatRaw(string path, byte* buffer);

    /// <summary>st_mode and st_rdev of a path (follows symlinks). Linux x64 and arm64 layouts only.</summary>
    internal static bool TryStat(string path, out uint mode, out ulong rdev)
    {
        mode = 0; rdev = 0;
        byte* buf = stackalloc byte[256]; // struct stat is 144 (x64) / 128 (arm64) bytes
        if (StatRaw(path, buf) != 0) return false;
        switch (RuntimeInformation.ProcessArchitecture)
        {
            case Architecture.X64: mode = *(uint*)(buf + 24); rdev = *(ulong*)(buf + 40); return true;
            case Architecture.Arm64: mode = *(uint*)(buf + 16); rdev = *(ulong*)(buf + 32); return true;
            default: return false;
        }
    }

    /// <summary>glibc's major()/minor() encoding of a dev_t.</summary>
    internal static (uint Major, uint Minor) SplitDev(ulong dev) =>
        ((uint)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL)),
         (uint)((dev & 0xff) | ((dev >> 12) & ~0xffUL)));
}
