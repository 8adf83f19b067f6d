using System.Net;
using TestSupport;
using Ttnoded.Config;

namespace Ttnoded.Tests.Daemon;

/// <summary>Health answers 503 while start-up is still probing, 200 once ready (in-process node system, real socket).</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task Health_is_503_until_the_hardware_probe_finishes_then_200()
    {
        var dir = Directory.CreateTempSubdirectory("ttnoded-ready-").FullName;
        try
        {
            var paths = new NodePaths(Path.Combine(dir, "none.json"), Path.Combine(dir, "s.sock"), Path.Combine(dir, "state"), Path.Combine(dir, "log"), dir);
            var probeGate = new TaskCompletionSource();
            using var stop = new CancellationTokenSource();
            await using var system = new NodeSystem(paths, new DaemonConfig()) { ProbeHardware = _ => probeGate.Task };
            var run = system.RunAsync(stop.Token);

            using var http = UnixHttp.Client(paths.SocketPath);
            HttpStatusCode first = 0;
            for (int i = 0; i < 600 && first == 0; i++)
            {
                try { first = (await http.GetAsync("api/v1/health")).StatusCode; }
                catch (HttpRequestException) { await Task.Delay(50); }
            }
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first);
            Assert.False(system.State.Ready);

            probeGate.SetResult();
            HttpStatusCode after = 0;
            for (int i = 0; i < 200 && after != HttpStatusCode.OK; i++)
            {
                after = (await http.GetAsync("api/v1/health")).StatusCode;
                if (after != HttpStatusCode.OK) await Task.Delay(25);
            }
            Assert.Equal(HttpStatusCode.OK, after);
            stop.Cancel();
            Assert.Equal(0, await run);
        }
        finally { Directory.Delete(dir, true); }
    }
}
