namespace Ttnoded.Systemd;

/// <summary>Socket activation (ttnoded.socket): the listening Unix socket systemd passed in, if any.</summary>
public static class SocketActivation
{
    private const int SockStream = 1;

    /// <summary>The first passed fd when it is a listening Unix stream socket; null when not socket-activated.</summary>
    public static int? ListeningUnixSocket()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("LISTEN_FDS"))) return null;
        try
        {
            int n = LibSystemd.ListenFds(1);
            if (n < 1) return null;
            int fd = LibSystemd.ListenFdsStart;
            return LibSystemd.IsSocketUnix(fd, SockStream, 1, null, 0) > 0 ? fd : null;
        }
        catch (DllNotFoundException) { return null; }
    }
}
