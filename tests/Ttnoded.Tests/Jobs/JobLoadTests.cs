using JobsLoad;
using TestSupport;

namespace Ttnoded.Tests.Jobs;

/// <summary>Many concurrent clients on the socket: nothing fails except deliberate 429s (bench/jobs-load runs the full 1,000 × 60 s).</summary>
public sealed class JobLoadTests
{
    [Fact]
    public async Task Concurrent_clients_see_no_error_other_than_deliberate_429s()
    {
        await using var d = new DaemonProcess();
        // 300 clients against a bound of 50, with jobs of 400 tokens: the queue fills in the first burst however fast the
        // engine runs (with 1-token jobs a fast engine drained it as fast as it filled, and no 429 was ever seen).
        d.WriteConfig(TestBundle.Config("\"jobs\": { \"maxQueued\": 50, \"maxQueuedPerUser\": 50, \"maxRunning\": 2 }"));
        d.StartReady();
        await TestBundle.ImportAsync(d);
        var report = await LoadGenerator.RunAsync(d.SocketPath, TestBundle.ModelName, clients: 300, TimeSpan.FromSeconds(5), jobTokens: 400);
        Assert.True(report.Errors == 0, string.Join("\n", report.ErrorSamples));
        Assert.True(report.Accepted > 0);
        Assert.True(report.Throttled > 0, "the queue bound was never reached: the test did not exercise 429s");
        Assert.False(d.Process.HasExited);
    }
}
