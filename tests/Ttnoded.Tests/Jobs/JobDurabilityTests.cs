using System.Net;
using System.Net.Http.Json;
using TestSupport;
using TtProtocol.Jobs;

namespace Ttnoded.Tests.Jobs;

/// <summary>kill -9 at random moments under a stream of submissions: every acknowledged job survives, exactly once.</summary>
public sealed class JobDurabilityTests
{
    [Fact]
    public async Task Every_acknowledged_job_survives_50_kill_9s_at_random_points()
    {
        await using var d = new DaemonProcess();
        d.WriteConfig(TestBundle.Config());
        d.StartReady();
        await TestBundle.ImportAsync(d);
        var acked = new HashSet<long>();
        var rng = new Random(20261122);
        for (int round = 0; round < 50; round++)
        {
            if (round > 0) d.StartReady();
            using var stop = new CancellationTokenSource();
            int ackedThisRound = 0;
            var submitters = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                using var http = d.Http(TimeSpan.FromSeconds(5));
                var mine = new List<long>();
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var resp = await http.PostAsJsonAsync("api/v1/jobs",
                            new JobSubmitRequest { Model = TestBundle.ModelName, Prompt = "Once", MaxTokens = 3 }, JobsJsonContext.Default.JobSubmitRequest);
                        if (resp.StatusCode == HttpStatusCode.Created)
                        {
                            mine.Add((await resp.Content.ReadFromJsonAsync(JobsJsonContext.Default.JobInfo))!.Id);
                            Interlocked.Increment(ref ackedThisRound);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        // The daemon died mid-request: that submission was never acknowledged.
                    }
                }
                return mine;
            })).ToList();
            // Kill at a random point once the stream is flowing (a loaded CI machine starts slower).
            for (int w = 0; w < 1000 && Volatile.Read(ref ackedThisRound) == 0; w++) await Task.Delay(10);
            await Task.Delay(rng.Next(0, 250));
            await d.CrashAsync();
            stop.Cancel();
            foreach (var t in submitters) acked.UnionWith(await t);
        }
        d.StartReady();
        using var check = d.Http();
        var all = (await check.GetFromJsonAsync("api/v1/jobs?limit=100000", JobsJsonContext.Default.JobList))!.Jobs;
        var ids = all.Select(j => j.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var missing = acked.Except(ids).ToList();
        Assert.True(acked.Count >= 50, $"only {acked.Count} submissions were acknowledged in 50 rounds");
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged jobs lost, e.g. {string.Join(", ", missing.Take(5))}");
        Assert.All(all, j => Assert.Contains(j.State, new[] { JobStates.Queued, JobStates.Running, JobStates.Succeeded, JobStates.Failed, JobStates.Cancelled }));
    }

    [Fact]
    public async Task A_job_running_at_a_crash_is_requeued_and_finishes_after_restart()
    {
        await using var d = new DaemonProcess();
        d.WriteConfig(TestBundle.Config());
        d.StartReady();
        await TestBundle.ImportAsync(d);
        using (var http = d.Http())
        {
            var resp = await http.PostAsJsonAsync("api/v1/jobs",
                new JobSubmitRequest { Model = TestBundle.ModelName, Prompt = "Once", MaxTokens = 100_000, Sampling = new SamplingOptions { Temperature = 0 } },
                JobsJsonContext.Default.JobSubmitRequest);
            var job = (await resp.Content.ReadFromJsonAsync(JobsJsonContext.Default.JobInfo))!;
            for (int i = 0; i < 500 && (await http.GetFromJsonAsync($"api/v1/jobs/{job.Id}", JobsJsonContext.Default.JobInfo))!.State != JobStates.Running; i++)
                await Task.Delay(10);
            await d.CrashAsync();
            d.StartReady();
            using var after = d.Http();
            JobInfo j = null!;
            for (int i = 0; i < 1000; i++)
            {
                j = (await after.GetFromJsonAsync($"api/v1/jobs/{job.Id}", JobsJsonContext.Default.JobInfo))!;
                if (JobStates.IsFinished(j.State)) break;
                await Task.Delay(20);
            }
            Assert.Equal(JobStates.Succeeded, j.State);
        }
    }
}
