using System.Text;
using Ttnoded.Metrics;
using Ttnoded.Tests.Hardware;
using Ttnoded.Tests.Jobs;

namespace Ttnoded.Tests.OpenAi;

/// <summary>The request metric families of GET /metrics: exposition format, and values fed by real jobs.</summary>
public sealed class RequestMetricsTests
{
    /// <summary>Every sample of a scrape (parsed strictly) keyed as written: name{k="v",...}.</summary>
    private static Dictionary<string, double> Flatten(string text) =>
        PrometheusTextParser.Parse(text).Values.SelectMany(f => f.Samples).ToDictionary(
            s => s.Labels.Count == 0 ? s.Name : s.Name + "{" + string.Join(",", s.Labels.Select(l => $"{l.Key}=\"{l.Value}\"")) + "}",
            s => s.Value);

    [Fact]
    public void Histogram_buckets_are_cumulative_inclusive_and_count_equals_inf()
    {
        var h = new Histogram([0.1, 1, 10]);
        foreach (double v in new[] { 0.05, 0.1, 0.5, 1, 5, 50, double.NaN }) h.Observe(v);
        var w = new StringWriter();
        h.WriteTo(w, "x_seconds", "model_name=\"m\"");
        Assert.Equal("""
            x_seconds_bucket{model_name="m",le="0.1"} 2
            x_seconds_bucket{model_name="m",le="1"} 4
            x_seconds_bucket{model_name="m",le="10"} 5
            x_seconds_bucket{model_name="m",le="+Inf"} 6
            x_seconds_sum{model_name="m"} 56.65
            x_seconds_count{model_name="m"} 6

            """.Replace("\r", ""), w.ToString());
    }

    [Fact]
    public void Concurrent_observations_are_all_counted()
    {
        var h = new Histogram([1, 2]);
        Parallel.For(0, 8, _ => { for (int i = 0; i < 10_000; i++) h.Observe(i % 3); });
        var w = new StringWriter();
        h.WriteTo(w, "c", "");
        Assert.Contains("c_count 80000\n", w.ToString());
        Assert.Contains("c_sum 79992\n", w.ToString()); // per thread: 3333 ones + 3333 twos
    }

    [Fact]
    public void Label_values_are_escaped()
    {
        Assert.Equal("a\\\"b\\\\c\\nd", Prometheus.Escape("a\"b\\c\nd"));
    }

    [Fact]
    public async Task Completed_requests_feed_the_vllm_and_llamacpp_families()
    {
        await using var node = new InProcessNode();
        for (int i = 0; i < 2; i++)
        {
            var resp = await node.Http.PostAsync("v1/completions", new StringContent(
                $$"""{"model":"{{InProcessNode.Model}}","prompt":"Once upon a time","max_tokens":10,"ignore_eos":true}""", Encoding.UTF8, "application/json"));
            Assert.True(resp.IsSuccessStatusCode, await resp.Content.ReadAsStringAsync());
        }
        // The final state is observed off the dispatcher's thread: wait until the second request is recorded and the engine
        // thread has published the KV gauge of the step that retired it (it does so at the end of that step, just after
        // the request completes).
        string text = "";
        var samples = new Dictionary<string, double>();
        for (int i = 0; i < 200 && !(text.Contains("vllm:e2e_request_latency_seconds_count{model_name=\"stories260k\"} 2", StringComparison.Ordinal)
            && samples.TryGetValue("vllm:kv_cache_usage_perc", out double kv) && kv == 0); i++)
        {
            if (i > 0) await Task.Delay(25);
            text = await node.Http.GetStringAsync("metrics");
            samples = Flatten(text);
        }
        double Value(string series) => Assert.Contains(series, samples);
        const string L = "{model_name=\"stories260k\"}";
        foreach (string h in new[] { "vllm:time_to_first_token_seconds", "vllm:time_per_output_token_seconds", "vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds" })
        {
            Assert.Contains($"# TYPE {h} histogram", text);
            Assert.Equal(2, Value(h + "_count" + L));
            Assert.Equal(2, Value(h + "_bucket{model_name=\"stories260k\",le=\"+Inf\"}"));
            Assert.True(Value(h + "_sum" + L) > 0);
        }
        Assert.Equal(20, Value("vllm:generation_tokens_total" + L));
        Assert.True(Value("vllm:prompt_tokens_total" + L) >= 2);
        Assert.Equal(Value("vllm:prompt_tokens_total" + L), Value("llamacpp:prompt_tokens_total"));
        Assert.Equal(20, Value("llamacpp:tokens_predicted_total"));
        Assert.Equal(2, Value("vllm:request_success_total{model_name=\"stories260k\",finished_reason=\"length\"}"));
        Assert.Equal(0, Value("vllm:num_requests_running" + L));
        Assert.Equal(0, Value("vllm:num_requests_waiting" + L));
        Assert.Equal(0, Value("llamacpp:requests_processing"));
        Assert.Equal(0, Value("vllm:kv_cache_usage_perc"));
        // e2e ≥ TTFT ≥ queue time, on sums of the same two requests.
        Assert.True(Value("vllm:e2e_request_latency_seconds_sum" + L) >= Value("vllm:time_to_first_token_seconds_sum" + L));
        Assert.True(Value("vllm:time_to_first_token_seconds_sum" + L) >= Value("vllm:request_queue_time_seconds_sum" + L));
    }

    [Fact]
    public async Task Running_requests_show_in_the_gauges_and_kv_cache()
    {
        await using var node = new InProcessNode();
        var resp = await node.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = new StringContent($$"""{"model":"{{InProcessNode.Model}}","prompt":"Once upon a time","max_tokens":100000,"ignore_eos":true,"stream":true}""", Encoding.UTF8, "application/json"),
        }, HttpCompletionOption.ResponseHeadersRead);
        var stream = await resp.Content.ReadAsStreamAsync();
        Assert.True(await stream.ReadAsync(new byte[64]) > 0);
        var samples = Flatten(await node.Http.GetStringAsync("metrics"));
        Assert.Equal(1, Assert.Contains("vllm:num_requests_running{model_name=\"stories260k\"}", samples));
        Assert.Equal(1, Assert.Contains("llamacpp:requests_processing", samples));
        double kv = Assert.Contains("vllm:kv_cache_usage_perc", samples);
        Assert.InRange(kv, double.Epsilon, 1);
        Assert.True(Assert.Contains("llamacpp:kv_cache_tokens", samples) > 0);
        resp.Dispose();
    }
}
