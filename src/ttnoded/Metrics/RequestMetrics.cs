using System.Collections.Concurrent;
using System.Globalization;
using TtProtocol.Jobs;
using Ttnoded.Inference;
using Ttnoded.Jobs;

namespace Ttnoded.Metrics;

/// <summary>
/// Request metrics for GET /metrics under the names vLLM and llama.cpp dashboards already graph (docs/metrics.md).
/// The dispatcher calls <see cref="Track"/> when a job starts running; from then on the job's feed is observed: the first
/// token stamps TTFT, the final state records the job's latencies and token counts. Queue gauges are read at scrape time.
/// </summary>
public sealed class RequestMetrics(JobQueue queue, IModelCatalog catalog, ModelPool pool)
{
    // vLLM's bucket bounds, with finer low ends for TPOT (a CPU engine on a tiny model decodes in well under 10 ms).
    private static readonly double[] TtftBounds = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
    private static readonly double[] TpotBounds = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
    private static readonly double[] LatencyBounds = [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
    private static readonly double[] TokenBounds = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000];

    /// <summary>One model's series (label model_name).</summary>
    private sealed class Series
    {
        public readonly Histogram Ttft = new(TtftBounds);
        public readonly Histogram Tpot = new(TpotBounds);
        public readonly Histogram E2e = new(LatencyBounds);
        public readonly Histogram QueueTime = new(LatencyBounds);
        public readonly Histogram PromptTokens = new(TokenBounds);
        public readonly Histogram GenerationTokens = new(TokenBounds);
        public readonly Counter PromptTotal = new();
        public readonly Counter GenerationTotal = new();
        public readonly ConcurrentDictionary<string, Counter> Finished = new(StringComparer.Ordinal);
    }

    /// <summary>A running job as observed.</summary>
    private sealed class Live(JobRecord job, JobSink sink, string model)
    {
        public JobRecord Job { get; } = job;
        public JobSink Sink { get; } = sink;
        public string Model { get; } = model;
        public int Generated;
        public DateTimeOffset? FirstToken;
    }

    private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, Live> _live = new();

    /// <summary>Starts observing a job that has just started running (its feed and its sink).</summary>
    public void Track(JobRecord job, JobFeed feed, JobSink sink)
    {
        string model = catalog.Find(job.Model)?.Name ?? job.Model;
        var live = new Live(job, sink, model);
        _live[job.Id] = live;
        _ = Task.Run(() => ObserveAsync(live, feed));
    }

    private async Task ObserveAsync(Live live, JobFeed feed)
    {
        try
        {
            await foreach (var e in feed.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (e.Type == "token")
                {
                    live.FirstToken ??= DateTimeOffset.UtcNow;
                    Interlocked.Increment(ref live.Generated);
                }
                else if (e.Type == "state" && e.State is not null && JobStates.IsFinished(e.State))
                {
                    Record(live, e.State, e.Reason);
                }
            }
        }
        finally
        {
            _live.TryRemove(live.Job.Id, out _);
        }
    }

    /// <summary>The final state is published after the dispatcher set the job's times and counts.</summary>
    private void Record(Live live, string state, string? reason)
    {
        var job = live.Job;
        var s = _series.GetOrAdd(live.Model, static _ => new Series());
        var end = job.FinishedAt ?? DateTimeOffset.UtcNow;
        if (job.StartedAt is { } started) s.QueueTime.Observe((started - job.SubmittedAt).TotalSeconds);
        s.E2e.Observe((end - job.SubmittedAt).TotalSeconds);
        if (live.FirstToken is { } first) s.Ttft.Observe((first - job.SubmittedAt).TotalSeconds);
        if (job.TpotMs is { } tpot) s.Tpot.Observe(tpot / 1000.0);
        s.PromptTokens.Observe(job.TokensIn);
        s.GenerationTokens.Observe(job.TokensOut);
        s.PromptTotal.Add(job.TokensIn);
        s.GenerationTotal.Add(job.TokensOut);
        // vLLM's finished_reason values: stop, length, abort (ours adds error for failed jobs).
        string finished = state switch
        {
            JobStates.Succeeded => reason == "length" ? "length" : "stop",
            JobStates.Cancelled => "abort",
            _ => "error",
        };
        s.Finished.GetOrAdd(finished, static _ => new Counter()).Add(1);
    }

    /// <summary>Appends the request metric families to a /metrics scrape.</summary>
    public void WriteTo(TextWriter w)
    {
        var running = queue.RunningSnapshot();
        var waiting = queue.QueuedSnapshot();
        var models = new SortedSet<string>(_series.Keys, StringComparer.Ordinal);
        var runningBy = new Dictionary<string, int>(StringComparer.Ordinal);
        var waitingBy = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in running) Bump(runningBy, models, Canonical(r.Job.Model));
        foreach (var q in waiting) Bump(waitingBy, models, Canonical(q.Model));

        Gauge(w, "vllm:num_requests_running", "Requests (jobs) running on the engine.", models, m => runningBy.GetValueOrDefault(m));
        Gauge(w, "vllm:num_requests_waiting", "Requests (jobs) waiting in the queue.", models, m => waitingBy.GetValueOrDefault(m));
        var (used, capacity) = KvCache();
        double ratio = capacity > 0 ? (double)used / capacity : 0;
        Prometheus.Header(w, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage: tokens held / KV slots allocated for running sequences (1 = full).");
        w.Write($"vllm:kv_cache_usage_perc {Prometheus.Number(ratio)}\n");

        Family(w, "vllm:time_to_first_token_seconds", "Time to first token, from submission (queue, model load and prefill included).", models, s => s.Ttft);
        Family(w, "vllm:time_per_output_token_seconds", "Mean time per output token after the first, one observation per request.", models, s => s.Tpot);
        Family(w, "vllm:e2e_request_latency_seconds", "Submission to end of the request.", models, s => s.E2e);
        Family(w, "vllm:request_queue_time_seconds", "Time a request waited in the queue.", models, s => s.QueueTime);
        Family(w, "vllm:request_prompt_tokens", "Prompt tokens per request.", models, s => s.PromptTokens);
        Family(w, "vllm:request_generation_tokens", "Generated tokens per request.", models, s => s.GenerationTokens);
        Counters(w, "vllm:prompt_tokens_total", "Prompt tokens processed.", models, s => s.PromptTotal.Value);
        Counters(w, "vllm:generation_tokens_total", "Tokens generated.", models, s => s.GenerationTotal.Value);
        var engines = pool.Engines().OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        Prometheus.Header(w, "vllm:prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.");
        foreach (var e in engines)
            w.Write($"vllm:prefix_cache_queries_total{{model_name=\"{Prometheus.Escape(e.Name)}\"}} {Interlocked.Read(ref e.Prefix.QueriedTokens).ToString(CultureInfo.InvariantCulture)}\n");
        Prometheus.Header(w, "vllm:prefix_cache_hits_total", "counter", "Prompt tokens served from the prefix cache instead of prefilled.");
        foreach (var e in engines)
            w.Write($"vllm:prefix_cache_hits_total{{model_name=\"{Prometheus.Escape(e.Name)}\"}} {Interlocked.Read(ref e.Prefix.HitTokens).ToString(CultureInfo.InvariantCulture)}\n");
        Prometheus.Header(w, "vllm:request_success_total", "counter", "Requests finished, by finished_reason (stop, length, abort, error).");
        foreach (string m in models)
        {
            if (!_series.TryGetValue(m, out var s)) continue;
            foreach (var (reason, c) in s.Finished.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                w.Write($"vllm:request_success_total{{model_name=\"{Prometheus.Escape(m)}\",finished_reason=\"{reason}\"}} {c.Value.ToString(CultureInfo.InvariantCulture)}\n");
        }

        // llama.cpp server names for the same quantities (unlabelled: llama.cpp serves one model).
        long promptAll = _series.Values.Sum(s => s.PromptTotal.Value), genAll = _series.Values.Sum(s => s.GenerationTotal.Value);
        Single(w, "llamacpp:prompt_tokens_total", "counter", "Prompt tokens processed (all models).", promptAll);
        Single(w, "llamacpp:tokens_predicted_total", "counter", "Tokens generated (all models).", genAll);
        Single(w, "llamacpp:requests_processing", "gauge", "Requests running.", running.Count);
        Single(w, "llamacpp:requests_deferred", "gauge", "Requests waiting in the queue.", waiting.Count);
        Prometheus.Header(w, "llamacpp:kv_cache_usage_ratio", "gauge", "KV-cache usage (same as vllm:kv_cache_usage_perc).");
        w.Write($"llamacpp:kv_cache_usage_ratio {Prometheus.Number(ratio)}\n");
        Single(w, "llamacpp:kv_cache_tokens", "gauge", "Tokens held in the KV caches of running sequences.", used);
    }

    /// <summary>
    /// Tokens held and KV slots allocated over the sequences running in the engine, as the model runners measured them
    /// after their last step (the prefix cache's idle entries are not "usage": they are given up under pressure).
    /// </summary>
    private (long Used, long Capacity) KvCache()
    {
        long used = 0, capacity = 0;
        foreach (var (_, runner, _) in pool.Engines())
        {
            if (runner is null) continue;
            var (u, c) = runner.KvTokens;
            used += u;
            capacity += c;
        }
        return (used, Math.Max(capacity, used));
    }


    private string Canonical(string model) => _series.ContainsKey(model) ? model : catalog.Find(model)?.Name ?? model;

    private static void Bump(Dictionary<string, int> counts, SortedSet<string> models, string model)
    {
        counts[model] = counts.GetValueOrDefault(model) + 1;
        models.Add(model);
    }

    private static void Gauge(TextWriter w, string name, string help, IEnumerable<string> models, Func<string, long> value)
    {
        Prometheus.Header(w, name, "gauge", help);
        foreach (string m in models) w.Write($"{name}{{model_name=\"{Prometheus.Escape(m)}\"}} {value(m).ToString(CultureInfo.InvariantCulture)}\n");
    }

    private void Family(TextWriter w, string name, string help, IEnumerable<string> models, Func<Series, Histogram> pick)
    {
        Prometheus.Header(w, name, "histogram", help);
        foreach (string m in models)
            if (_series.TryGetValue(m, out var s)) pick(s).WriteTo(w, name, $"model_name=\"{Prometheus.Escape(m)}\"");
    }

    private void Counters(TextWriter w, string name, string help, IEnumerable<string> models, Func<Series, long> pick)
    {
        Prometheus.Header(w, name, "counter", help);
        foreach (string m in models)
            if (_series.TryGetValue(m, out var s)) w.Write($"{name}{{model_name=\"{Prometheus.Escape(m)}\"}} {pick(s).ToString(CultureInfo.InvariantCulture)}\n");
    }

    private static void Single(TextWriter w, string name, string type, string help, long value)
    {
        Prometheus.Header(w, name, type, help);
        w.Write($"{name} {value.ToString(CultureInfo.InvariantCulture)}\n");
    }
}
