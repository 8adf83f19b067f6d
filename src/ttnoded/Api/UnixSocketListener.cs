using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Ttnoded.Api;

/// <summary>
/// The daemon's only listener: a Unix socket, either passed by systemd (ttnoded.socket) or created here.
/// A stale socket file (nobody answers on it) is replaced; a live one means another daemon runs, and we refuse.
/// </summary>
public static partial class UnixSocketListener
{
    /// <summary>Socket file mode: owner and group may connect (a client needs write permission to connect).</summary>
    public const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    /// <summary>Prepares <paramref name="path"/> for binding; throws <see cref="IOException"/> with a one-line reason.</summary>
    public static void PrepareSocketPath(string path)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var info = new FileInfo(path);
        if (!info.Exists && !Directory.Exists(path)) return;
        if (Directory.Exists(path)) throw new IOException($"socket path {path} is a directory");
        if (!IsSocket(path)) throw new IOException($"socket path {path} exists and is not a socket; remove it");
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new IOException($"another ttnoded is already serving {path}");
            }
            catch (SocketException)
            {
                // Nobody listens: a stale file from a crashed run.
            }
        }
        File.Delete(path);
    }

    /// <summary>Binds Kestrel to the activated fd or to <paramref name="path"/>.</summary>
    public static void Listen(KestrelServerOptions kestrel, string path, int? activatedFd)
    {
        if (activatedFd is int fd) kestrel.ListenHandle((ulong)fd);
        else kestrel.ListenUnixSocket(path);
    }

    /// <summary>Runs <paramref name="bind"/> with a umask that makes the new socket 0660 from its first instant.</summary>
    public static async Task BindWithUmaskAsync(Func<Task> bind)
    {
        uint old = Umask(0x4F); // 0117: no execute, nothing for others
        try { await bind().ConfigureAwait(false); }
        finally { Umask(old); }
    }

    /// <summary>Gives the socket its mode and group; a missing group is reported, not fatal (user-mode runs).</summary>
    public static string? SetOwnership(string path, uint? gid)
    {
        File.SetUnixFileMode(path, SocketMode);
        if (gid is uint g && Chown(path, uint.MaxValue, g) != 0)
            return $"cannot give {path} to group id {g}: errno {Marshal.GetLastPInvokeError()}";
        return null;
    }

    private static unsafe bool IsSocket(string path)
    {
        // FileSystemInfo cannot tell a socket from a file; lstat's st_mode can (S_IFSOCK = 0xC000).
        // x86_64 struct stat: st_dev(8) st_ino(8) st_nlink(8) st_mode(4) ..., 144 bytes in all.
        byte* buf = stackalloc byte[256];
        if (LStat(path, buf) != 0) return false;
        uint mode = *(uint*)(buf + 24);
        return (mode & 0xF000) == 0xC000;
    }

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LStat(string path, byte* statBuffer);

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint Umask(uint mask);

    [LibraryImport("libc", EntryPoint = "chown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Chown(string path, uint owner, uint group);
}
