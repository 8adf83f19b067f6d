using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ttnoded.Security;

/// <summary>Reads SO_PEERCRED (struct ucred) from a connected Unix socket.</summary>
public static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    [StructLayout(LayoutKind.Sequential)]
    private struct UCred { public int Pid; public uint Uid; public uint Gid; }

    /// <summary>The peer's pid, uid and gid, or null when the socket is not a Unix socket.</summary>
    public static (int Pid, uint Uid, uint Gid)? Read(Socket socket)
    {
        if (socket.AddressFamily != AddressFamily.Unix) return null;
        Span<byte> buf = stackalloc byte[Marshal.SizeOf<UCred>()];
        int n = socket.GetRawSocketOption(SolSocket, SoPeerCred, buf);
        if (n != buf.Length) return null;
        var cred = MemoryMarshal.Read<UCred>(buf);
        return (cred.Pid, cred.Uid, cred.Gid);
    }
}
