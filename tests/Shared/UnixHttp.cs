using System.Net.Sockets;

namespace TestSupport;

/// <summary>An HttpClient that speaks to a Unix socket (what ttctl and applications do).</summary>
public static class UnixHttp
{
    public static HttpClient Client(string socketPath, TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try { await s.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct); return new NetworkStream(s, true); }
                catch { s.Dispose(); throw; }
            },
            UseProxy = false,
        })
        { BaseAddress = new Uri("http://ttnoded/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
}
