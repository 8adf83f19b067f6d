using TtEngine.Sampling;

namespace TtEngine.Model;

/// <summary>Why generation ended.</summary>
public enum StopReason
{
    /// <summary>The model produced an end-of-generation token (EOS/EOT); it is not part of the text.</summary>
    EndOfGeneration,
    /// <summary><see cref="GenerationOptions.MaxTokens"/> reached.</summary>
    MaxTokens,
    /// <summary>A stop string appeared; the text ends just before it.</summary>
    StopString,
    /// <summary>The sequence's KV cache is full.</summary>
    ContextLimit,
    /// <summary>The cancellation token fired (checked between steps).</summary>
    Cancelled,
}

/// <summary>Per-request generation settings.</summary>
public sealed class GenerationOptions
{
    /// <summary>Maximum tokens to generate.</summary>
    public int MaxTokens { get; init; } = 256;
    /// <summary>Sampling settings (default: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05).</summary>
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Strings that end generation; the text stops before the first one found.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Stop on EOS/EOT/EOM tokens.</summary>
    public bool StopOnEndOfGeneration { get; init; } = true;
    /// <summary>For raw prompts: parse control-token text (e.g. &lt;|eot_id|&gt;) in the prompt into tokens.</summary>
    public bool ParseSpecialInPrompt { get; init; }
}

/// <summary>Outcome and timings of one generation.</summary>
public sealed class GenerationResult
{
    /// <summary>Tokens fed as the prompt.</summary>
    public required int PromptTokens { get; init; }
    /// <summary>Tokens sampled (an end-of-generation token counts).</summary>
    public required int GeneratedTokens { get; init; }
    /// <summary>Why it stopped.</summary>
    public required StopReason StopReason { get; init; }
    /// <summary>The generated token ids.</summary>
    public required IReadOnlyList<int> Tokens { get; init; }
    /// <summary>The generated text as streamed (stop string excluded).</summary>
    public required string Text { get; init; }
    /// <summary>Start of the call until the first token was sampled (prefill included).</summary>
    public required TimeSpan TimeToFirstToken { get; init; }
    /// <summary>Time spent in prefill.</summary>
    public required TimeSpan PromptDuration { get; init; }
    /// <summary>Time from the first sampled token to the end.</summary>
    public required TimeSpan GenerationDuration { get; init; }

    /// <summary>Prompt tokens per second of prefill.</summary>
    public double PromptTokensPerSecond => PromptDuration > TimeSpan.Zero ? PromptTokens / PromptDuration.TotalSeconds : 0;
    /// <summary>Decode steps per second after the first token.</summary>
    public double GenerationTokensPerSecond => GeneratedTokens > 1 && GenerationDuration > TimeSpan.Zero ? (GeneratedTokens - 1) / GenerationDuration.TotalSeconds : 0;
    /// <summary>Mean time per generated token after the first.</summary>
    public TimeSpan TimePerToken => GeneratedTokens > 1 ? GenerationDuration / (GeneratedTokens - 1) : TimeSpan.Zero;
}

/// <summary>Holds back streamed text that could still turn into a stop string (used by Generate and by the daemon's batching host).</summary>
public sealed class StopStringFilter(IReadOnlyList<string> stops)
{
    private string _pending = "";

    /// <summary>Adds text; returns what is safe to emit, and whether a stop string completed.</summary>
    public (string emit, bool stopped) Push(string piece)
    {
        if (stops.Count == 0) return (piece, false);
        _pending += piece;
        int first = -1;
        foreach (string s in stops)
        {
            if (s.Length == 0) continue;
            int at = _pending.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        if (first >= 0)
        {
            string before = _pending[..first];
            _pending = "";
            return (before, true);
        }
        int hold = 0;
        foreach (string s in stops)
            for (int k = Math.Min(s.Length - 1, _pending.Length); k > hold; k--)
                if (_pending.AsSpan(_pending.Length - k).SequenceEqual(s.AsSpan(0, k)))
                {
                    hold = k;
                    break;
                }
        string emit = _pending[..^hold];
        _pending = _pending[^hold..];
        return (emit, false);
    }

    /// <summary>Releases held text at the end.</summary>
    public string Flush()
    {
        string p = _pending;
        _pending = "";
        return p;
    }
}
