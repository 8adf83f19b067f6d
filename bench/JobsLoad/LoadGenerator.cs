using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using TestSupport;
using TtProtocol.Jobs;

namespace JobsLoad;

/// <summary>What a load run saw: submissions accepted, throttled (429) or failed otherwise, and latencies.</summary>
public sealed record LoadReport(int Clients, double Seconds, long Accepted, long Throttled, long Errors, long Polls,
    double SubmitP50Ms, double SubmitP99Ms, double PollP50Ms, double PollP99Ms, IReadOnlyList<string> ErrorSamples)
{
    public string Markdown() =>
        $"| clients | seconds | accepted | 429 | other errors | polls | submit p50 | submit p99 | poll p50 | poll p99 |\n" +
        $"|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" +
        $"| {Clients} | {Seconds:F0} | {Accepted} | {Throttled} | {Errors} | {Polls} | {SubmitP50Ms:F1} ms | {SubmitP99Ms:F1} ms | {PollP50Ms:F1} ms | {PollP99Ms:F1} ms |\n";
}

/// <summary>N clients, each with its own connection: submit a job, poll it once, repeat, until the time is up.</summary>
public static class LoadGenerator
{
    /// <param name="jobTokens">Tokens each job generates (past end-of-sequence): long jobs keep the queue full, so the
    /// bound is reached however fast the engine is.</param>
    public static async Task<LoadReport> RunAsync(string socket, string model, int clients, TimeSpan duration, int jobTokens = 1)
    {
        var submit = new List<double>[clients];
        var poll = new List<double>[clients];
        long accepted = 0, throttled = 0, errors = 0, polls = 0;
        var samples = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var sw = Stopwatch.StartNew();
        var start = new TaskCompletionSource();
        var tasks = Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
        {
            submit[i] = []; poll[i] = [];
            using var http = UnixHttp.Client(socket, TimeSpan.FromSeconds(60));
            await start.Task;
            while (sw.Elapsed < duration)
            {
                long t0 = Stopwatch.GetTimestamp();
                try
                {
                    using var resp = await http.PostAsJsonAsync("api/v1/jobs",
                        new JobSubmitRequest
                        {
                            Model = model, Prompt = "Once", MaxTokens = jobTokens, Priority = i % 100,
                            Sampling = new SamplingOptions { IgnoreEos = true },
                        }, JobsJsonContext.Default.JobSubmitRequest);
                    submit[i].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    if (resp.StatusCode == HttpStatusCode.Created)
                    {
                        Interlocked.Increment(ref accepted);
                        var job = (await resp.Content.ReadFromJsonAsync(JobsJsonContext.Default.JobInfo))!;
                        long t1 = Stopwatch.GetTimestamp();
                        using var p = await http.GetAsync($"api/v1/jobs/{job.Id}");
                        poll[i].Add(Stopwatch.GetElapsedTime(t1).TotalMilliseconds);
                        Interlocked.Increment(ref polls);
                        if (p.StatusCode != HttpStatusCode.OK) { Interlocked.Increment(ref errors); samples.Enqueue($"poll {(int)p.StatusCode}"); }
                    }
                    else if (resp.StatusCode == (HttpStatusCode)429)
                    {
                        Interlocked.Increment(ref throttled);
                        await Task.Delay(50); // a polite client backs off
                    }
                    else
                    {
                        Interlocked.Increment(ref errors);
                        samples.Enqueue($"submit {(int)resp.StatusCode}: {await resp.Content.ReadAsStringAsync()}");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    Interlocked.Increment(ref errors);
                    samples.Enqueue(e.GetType().Name + ": " + e.Message);
                }
            }
        })).ToList();
        sw.Restart();
        start.SetResult();
        await Task.WhenAll(tasks);
        double secs = sw.Elapsed.TotalSeconds;
        var s = submit.SelectMany(x => x).Order().ToArray();
        var p = poll.SelectMany(x => x).Order().ToArray();
        return new LoadReport(clients, secs, accepted, throttled, errors, polls, Pct(s, 0.50), Pct(s, 0.99), Pct(p, 0.50), Pct(p, 0.99), samples.Take(5).ToList());
    }

    private static double Pct(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
}
