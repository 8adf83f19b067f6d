using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TtEngine.Gguf;
using TtEngine.Model;
using TtEngine.Runtime;
using TtEngine.Sampling;

namespace Ttctl.Commands;

/// <summary>
/// `ttctl engine bench --gguf FILE [--threads T] [--pp 512] [--tg 128] [--kv f16|f32] [--interleave on|off] [--json]`: prefill and decode speed of the built-in
/// engine, peak RSS, allocations per decoded token, and — measured between the decode steps of the same run — the machine's
/// streaming read bandwidth and the decode roofline (bandwidth ÷ bytes read per token).
/// </summary>
internal static class EngineBenchCommand
{
    public static Command Create()
    {
        var gguf = new Option<string>("--gguf") { Description = "GGUF model file (architecture llama)", Required = true };
        var threads = new Option<int>("--threads") { Description = "worker threads (0 = one per physical core)", DefaultValueFactory = _ => 0 };
        var pp = new Option<int>("--pp") { Description = "prompt tokens (prefill)", DefaultValueFactory = _ => 512 };
        var tg = new Option<int>("--tg") { Description = "generated tokens (decode)", DefaultValueFactory = _ => 128 };
        var kv = new Option<string>("--kv") { Description = "KV cache element type: f16 (default) or f32", DefaultValueFactory = _ => "f16" };
        kv.AcceptOnlyFromAmong("f16", "f32");
        var interleave = new Option<string>("--interleave")
        {
            Description = "on (default): Q4_0/Q8_0/Q4_K/Q6_K matrices copied at load into the 8-row interleaved form; off: multiplied row by row from the file",
            DefaultValueFactory = _ => "on",
        };
        interleave.AcceptOnlyFromAmong("on", "off");
        var json = GlobalOptions.Json();
        var cmd = new Command("bench", "Measure the built-in engine: prefill/decode tok/s, RSS, bandwidth roofline") { gguf, threads, pp, tg, kv, interleave, json };
        cmd.SetAction((pr, ct) => Task.FromResult(Run(pr.GetValue(gguf)!, pr.GetValue(threads), pr.GetValue(pp), pr.GetValue(tg),
            pr.GetValue(kv) == "f32" ? KvCacheType.F32 : KvCacheType.F16, pr.GetValue(interleave) != "off", pr.GetValue(json), ct)));
        return cmd;
    }

    private static int Run(string path, int threads, int pp, int tg, KvCacheType kvCache, bool interleave, bool asJson, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"ttctl: '{path}': no such file");
            return ExitCodes.Usage;
        }
        if (threads < 0 || pp < 1 || tg < 2)
        {
            Console.Error.WriteLine("ttctl: --threads must be ≥ 0, --pp ≥ 1, --tg ≥ 2");
            return ExitCodes.Usage;
        }
        if (!EngineCommand.TryLoad(path, threads, out var model, kvCache, interleave)) return ExitCodes.Usage;
        using (model)
        {
            if (pp + tg + 1 > model.Config.ContextLength)
            {
                Console.Error.WriteLine($"ttctl: --pp + --tg = {pp + tg} exceeds the model's context {model.Config.ContextLength}");
                return ExitCodes.Usage;
            }
            int vocab = model.Config.VocabSize;
            var rng = new Random(1234);
            int[] prompt = new int[pp];
            for (int i = 0; i < pp; i++) prompt[i] = rng.Next(vocab);
            using Sequence seq = model.CreateSequence(pp + tg + 1);

            // warm-up: fault the mapped weights in and let tiered code settle (not timed)
            seq.Prefill(prompt.AsSpan(0, Math.Min(pp, 32)), ct);
            seq.Decode(Sampler.ArgMax(seq.Logits));
            seq.Truncate(0);

            long t0 = Stopwatch.GetTimestamp();
            ReadOnlySpan<float> logits = seq.Prefill(prompt, ct);
            double prefillSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;

            int token = Sampler.ArgMax(logits);
            logits = seq.Decode(token); // first decode step outside the counters (one-time lazy work)
            token = Sampler.ArgMax(logits);
            long peakRss = PeakRss(); // before the bandwidth probe maps its own buffer

            // Decode runs in windows, each followed by the better of two bandwidth-probe passes, and the roofline's bandwidth
            // is the decode-time-weighted mean of those: what the machine could have streamed during each window, since its
            // neighbours move its bandwidth by ±15% from minute to minute. The best single pass of the run is reported too.
            using var probe = new MemoryBandwidth.ReadProbe(model.Threads);
            probe.Pass(); // warm: the probe's threads and pages
            int steps = tg - 1, windows = Math.Min(ProbeWindows, steps);
            double decodeSeconds = 0, weightedBandwidth = 0, bestPass = 0;
            long allocThread = GC.GetAllocatedBytesForCurrentThread();
            long allocTotal = GC.GetTotalAllocatedBytes(precise: true);
            for (int w = 0, done = 0; w < windows; w++)
            {
                int end = (int)((long)steps * (w + 1) / windows);
                t0 = Stopwatch.GetTimestamp();
                for (; done < end; done++)
                {
                    ct.ThrowIfCancellationRequested();
                    token = Sampler.ArgMax(seq.Decode(token));
                }
                double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                double now = Math.Max(probe.Pass(), probe.Pass());
                decodeSeconds += seconds;
                weightedBandwidth += seconds * now;
                bestPass = Math.Max(bestPass, now);
            }
            long allocThreadDelta = GC.GetAllocatedBytesForCurrentThread() - allocThread;
            long allocTotalDelta = GC.GetTotalAllocatedBytes(precise: true) - allocTotal;

            double bandwidth = weightedBandwidth / decodeSeconds;
            long weightBytes = model.WeightBytesPerToken;
            // decode positions ran pp+1 .. pp+tg-1: the average step read this many cached tokens
            double avgCached = pp + 1 + (steps - 1) / 2.0;
            double bytesPerToken = weightBytes + avgCached * model.KvBytesPerCachedToken;
            double prefillTps = pp / prefillSeconds, decodeTps = steps / decodeSeconds;
            double roofline = bandwidth / bytesPerToken, rooflineBest = bestPass / bytesPerToken;
            var inv = CultureInfo.InvariantCulture;
            if (asJson)
            {
                using var w = new Utf8JsonWriter(Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
                w.WriteStartObject();
                w.WriteString("model", Path.GetFileName(path));
                w.WriteString("name", model.Config.Name);
                w.WriteNumber("threads", model.Threads);
                w.WriteNumber("pp", pp);
                w.WriteNumber("tg", tg);
                w.WriteString("kv_cache", kvCache == KvCacheType.F32 ? "f32" : "f16");
                w.WriteNumber("interleaved_matrices", model.InterleavedMatrices);
                w.WriteNumber("prefill_tok_s", Math.Round(prefillTps, 2));
                w.WriteNumber("decode_tok_s", Math.Round(decodeTps, 2));
                w.WriteNumber("weight_bytes_per_token", weightBytes);
                w.WriteNumber("bytes_per_token", Math.Round(bytesPerToken));
                w.WriteNumber("read_bandwidth_gb_s", Math.Round(bandwidth / 1e9, 2));
                w.WriteNumber("read_bandwidth_best_pass_gb_s", Math.Round(bestPass / 1e9, 2));
                w.WriteNumber("probe_passes", 2 * windows);
                w.WriteNumber("decode_roofline_tok_s", Math.Round(roofline, 2));
                w.WriteNumber("decode_roofline_fraction", Math.Round(decodeTps / roofline, 3));
                w.WriteNumber("decode_roofline_fraction_best_pass", Math.Round(decodeTps / rooflineBest, 3));
                w.WriteNumber("peak_rss_bytes", peakRss);
                w.WriteNumber("alloc_bytes_per_token_thread", Math.Round((double)allocThreadDelta / steps, 1));
                w.WriteNumber("alloc_bytes_per_token_total", Math.Round((double)allocTotalDelta / steps, 1));
                w.WriteEndObject();
                w.Flush();
                Console.WriteLine();
            }
            else
            {
                Console.WriteLine(string.Format(inv, "model       {0} ({1}), threads {2}, KV cache {3}, {4} matrices interleaved", Path.GetFileName(path),
                    model.Config.Name, model.Threads, kvCache == KvCacheType.F32 ? "f32" : "f16", model.InterleavedMatrices));
                Console.WriteLine(string.Format(inv, "prefill     pp{0}: {1:F2} tok/s", pp, prefillTps));
                Console.WriteLine(string.Format(inv, "decode      tg{0}: {1:F2} tok/s ({2:F2} ms/token)", tg, decodeTps, 1000 / decodeTps));
                Console.WriteLine(string.Format(inv, "bandwidth   {0:F2} GB/s read ({1} threads, probed after each of {2} decode windows, weighted by their time; best pass {3:F2})",
                    bandwidth / 1e9, model.Threads, windows, bestPass / 1e9));
                Console.WriteLine(string.Format(inv, "roofline    {0:F1} MB/token → {1:F2} tok/s; decode at {2:P1} of roofline ({3:P1} of the best pass's)",
                    bytesPerToken / 1e6, roofline, decodeTps / roofline, decodeTps / rooflineBest));
                Console.WriteLine(string.Format(inv, "memory      peak RSS {0:F1} MiB; allocated per decoded token: {1:F1} B (this thread), {2:F1} B (process)",
                    peakRss / 1048576.0, (double)allocThreadDelta / steps, (double)allocTotalDelta / steps));
            }
            return ExitCodes.Ok;
        }
    }

    /// <summary>Decode windows, each followed by two probe passes (~1 GiB read each: about one 1B-model decode step).</summary>
    private const int ProbeWindows = 8;

    /// <summary>VmHWM from /proc/self/status (bytes), or 0.</summary>
    private static long PeakRss()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal) &&
                long.TryParse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long kb))
                return kb * 1024;
        return 0;
    }
}
