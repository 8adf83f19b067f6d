using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Ttctl.Client;

namespace Ttctl.Bench;

/// <summary>
/// Drives ttnoded's /v1/completions with stream:true like vLLM's `bench serve` (tt-inference-server's benchmark
/// workflow): synthetic prompts of exactly ISL tokens, ignore_eos so every request generates exactly OSL tokens, N
/// concurrent clients sending back to back for the cell's duration. TTFT is send → first text chunk; TPOT is
/// (latency − TTFT) / (OSL − 1) with latency = send → [DONE], as vLLM computes them.
/// </summary>
internal sealed class BenchRunner(DaemonClient client, Action<string> progress)
{
    /// <summary>Words tried for the synthetic prompt; the first that costs exactly one token per repeat wins.</summary>
    private static readonly string[] Fillers = [" the", " a", " and", " is", " I", " of", "."];

    private string _word = Fillers[0];
    private int _perWord = 1, _offset;

    public async Task<(string Model, int? Context)> ResolveModelAsync(string? wanted, CancellationToken ct)
    {
        var list = await client.GetAsync("v1/models", BenchJsonContext.Default.BenchModelList, ct).ConfigureAwait(false);
        if (list.Data.Length == 0) throw new CliException(ExitCodes.Rejected, "no model is registered on this node (ttctl model import)");
        if (wanted is null) return (list.Data[0].Id, list.Data[0].MaxModelLen);
        var m = list.Data.FirstOrDefault(d => d.Id == wanted || d.Id.StartsWith(wanted + ":", StringComparison.Ordinal))
                ?? throw new CliException(ExitCodes.Rejected, $"model '{wanted}' is not registered (models: {string.Join(", ", list.Data.Select(d => d.Id))})");
        return (wanted, m.MaxModelLen);
    }

    /// <summary>Finds a filler word that tokenizes to one token per repeat (asking the daemon: usage.prompt_tokens).</summary>
    public async Task CalibrateAsync(string model, CancellationToken ct)
    {
        (string Word, int Per, int Offset)? best = null;
        foreach (string w in Fillers)
        {
            int p1 = await PromptTokensAsync(model, Repeat(w, 8), ct).ConfigureAwait(false);
            int p2 = await PromptTokensAsync(model, Repeat(w, 16), ct).ConfigureAwait(false);
            int p3 = await PromptTokensAsync(model, Repeat(w, 24), ct).ConfigureAwait(false);
            if (p2 - p1 != p3 - p2 || p2 - p1 <= 0 || (p2 - p1) % 8 != 0) continue;
            int per = (p2 - p1) / 8;
            if (best is null || per < best.Value.Per) best = (w, per, p1 - 8 * per);
            if (per == 1) break;
        }
        if (best is null) throw new CliException(ExitCodes.Failure, "cannot build synthetic prompts: no filler word tokenizes linearly with this model");
        (_word, _perWord, _offset) = best.Value;
        progress($"synthetic prompt: '{_word.Trim()}' repeated ({_perWord} token(s) each, {_offset} extra)");
    }

    /// <summary>A prompt of exactly <paramref name="isl"/> tokens when the filler allows it; returns the real count.</summary>
    public async Task<(string Prompt, int Tokens)> PromptAsync(string model, int isl, CancellationToken ct)
    {
        int k = Math.Max(1, (isl - _offset) / _perWord);
        string prompt = Repeat(_word, k);
        int tokens = await PromptTokensAsync(model, prompt, ct).ConfigureAwait(false);
        for (int i = 0; i < 4 && tokens != isl; i++)
        {
            int step = (isl - tokens) / _perWord;
            if (step == 0) break; // the filler cannot hit it exactly; the report shows the real ISL
            k = Math.Max(1, k + step);
            prompt = Repeat(_word, k);
            tokens = await PromptTokensAsync(model, prompt, ct).ConfigureAwait(false);
        }
        return (prompt, tokens);
    }

    private static string Repeat(string w, int n) => new StringBuilder(w.Length * n).Insert(0, w, n).ToString();

    private async Task<int> PromptTokensAsync(string model, string prompt, CancellationToken ct)
    {
        var r = await client.PostAsync("v1/completions", new BenchCompletionRequest { Model = model, Prompt = prompt, MaxTokens = 1 },
            BenchJsonContext.Default.BenchCompletionRequest, BenchJsonContext.Default.BenchCompletion, ct).ConfigureAwait(false);
        return r.Usage?.PromptTokens ?? throw new CliException(ExitCodes.DaemonError, "ttnoded's completion carried no usage");
    }

    private readonly record struct Sample(bool Ok, double TtftMs, double LatencyMs, int OutputTokens, string? Error);

    /// <summary>Runs one cell: <paramref name="concurrency"/> clients, back to back, until <paramref name="duration"/> passed.</summary>
    public async Task<BenchCell> RunCellAsync(string model, string prompt, int isl, int osl, int islAsked, int oslAsked, bool capped,
        int concurrency, TimeSpan duration, CancellationToken ct)
    {
        var samples = new List<Sample>();
        var lockObj = new Lock();
        var wall = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            do
            {
                var s = await OneAsync(model, prompt, osl, ct).ConfigureAwait(false);
                lock (lockObj) samples.Add(s);
            }
            while (wall.Elapsed < duration && !ct.IsCancellationRequested);
        }, ct)).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
        double seconds = wall.Elapsed.TotalSeconds;
        var ok = samples.Where(s => s.Ok).ToList();
        var ttft = ok.Select(s => s.TtftMs).ToArray();
        var tpot = ok.Where(s => s.OutputTokens > 1).Select(s => (s.LatencyMs - s.TtftMs) / (s.OutputTokens - 1)).ToArray();
        double tpot50 = Percentile(tpot, 50);
        return new BenchCell
        {
            Concurrency = concurrency, Isl = isl, Osl = osl, IslRequested = islAsked, OslRequested = oslAsked, Capped = capped,
            Requests = samples.Count, Errors = samples.Count - ok.Count, FirstError = samples.FirstOrDefault(s => !s.Ok).Error,
            Seconds = seconds,
            TtftP50Ms = Percentile(ttft, 50), TtftP99Ms = Percentile(ttft, 99), TpotP50Ms = tpot50, TpotP99Ms = Percentile(tpot, 99),
            E2eP50Ms = Percentile(ok.Select(s => s.LatencyMs).ToArray(), 50),
            PrefillTokPerSec = Percentile(ok.Where(s => s.TtftMs > 0).Select(s => isl / (s.TtftMs / 1000)).ToArray(), 50),
            OutputTokPerSec = ok.Sum(s => s.OutputTokens) / seconds,
            TokPerSecPerUser = tpot50 > 0 ? 1000 / tpot50 : 0,
            RequestsPerSec = ok.Count / seconds,
        };
    }

    private async Task<Sample> OneAsync(string model, string prompt, int osl, CancellationToken ct)
    {
        var body = new BenchCompletionRequest
        {
            // Every request prefills its whole prompt: the bench's prompts are identical, and reusing the cached prefix
            // would measure the cache, not prefill (vLLM's bench uses random prompts for the same reason).
            Model = model, Prompt = prompt, MaxTokens = osl, Stream = true, StreamOptions = new(true), IgnoreEos = true, CachePrompt = false,
        };
        var msg = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, BenchJsonContext.Default.BenchCompletionRequest)),
        };
        msg.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        long t0 = Stopwatch.GetTimestamp();
        double ttft = -1;
        int tokens = 0;
        try
        {
            using var resp = await client.Http.SendAsync(msg, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (!resp.IsSuccessStatusCode)
                return new Sample(false, 0, 0, 0, $"{(int)resp.StatusCode}: {ErrorText(await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false))}");
            using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                string data = line[6..];
                if (data == "[DONE]")
                {
                    double latency = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    if (ttft < 0) return new Sample(false, 0, 0, 0, "no text was streamed");
                    return new Sample(true, ttft, latency, tokens, null);
                }
                if (data.Contains("\"error\"", StringComparison.Ordinal) && !data.Contains("\"choices\"", StringComparison.Ordinal))
                    return new Sample(false, 0, 0, 0, ErrorText(data));
                var chunk = JsonSerializer.Deserialize(data, BenchJsonContext.Default.BenchCompletion);
                if (ttft < 0 && chunk?.Choices is { Length: > 0 } c && !string.IsNullOrEmpty(c[0].Text))
                    ttft = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (chunk?.Usage is { } u) tokens = u.CompletionTokens;
            }
            return new Sample(false, 0, 0, 0, "stream ended without [DONE]");
        }
        catch (HttpRequestException e)
        {
            return new Sample(false, 0, 0, 0, e.Message);
        }
        catch (IOException e)
        {
            return new Sample(false, 0, 0, 0, e.Message);
        }
    }

    private static string ErrorText(string body)
    {
        try { return JsonSerializer.Deserialize(body, BenchJsonContext.Default.BenchErrorEnvelope)?.Error?.Message ?? body; }
        catch (JsonException) { return body.Length > 200 ? body[..200] : body; }
    }

    /// <summary>Nearest-rank percentile; 0 for no samples.</summary>
    public static double Percentile(double[] values, double p)
    {
        if (values.Length == 0) return 0;
        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
