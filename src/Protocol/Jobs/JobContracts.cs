namespace TtProtocol.Jobs;

/// <summary>Job states. queued → running → succeeded | failed | cancelled.</summary>
public static class JobStates
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsFinished(string state) => state is Succeeded or Failed or Cancelled;
}

/// <summary>One chat message (role: system, user or assistant).</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>Sampling parameters; null means the engine's default.</summary>
public sealed record SamplingOptions
{
    public float? Temperature { get; init; }
    public int? TopK { get; init; }
    public float? TopP { get; init; }
    public float? MinP { get; init; }
    public float? RepetitionPenalty { get; init; }
    public float? PresencePenalty { get; init; }
    public float? FrequencyPenalty { get; init; }
    public ulong? Seed { get; init; }
    public string[]? Stop { get; init; }
    /// <summary>Keep generating past end-of-sequence tokens until max tokens (benchmarks: exact output length).</summary>
    public bool? IgnoreEos { get; init; }
    /// <summary>False: prefill the whole prompt even if the prefix cache holds its start (benchmarks measuring prefill). Default true.</summary>
    public bool? CachePrompt { get; init; }
    /// <summary>Report each generated token's log probability with this many most likely alternatives (0-20); null = off.</summary>
    public int? Logprobs { get; init; }
}

/// <summary>POST /api/v1/jobs.</summary>
public sealed record JobSubmitRequest
{
    public string Model { get; init; } = "";
    public string? Prompt { get; init; }
    public ChatMessage[]? Messages { get; init; }
    public int? MaxTokens { get; init; }
    /// <summary>0-100, default 10. Higher runs first.</summary>
    public int? Priority { get; init; }
    /// <summary>Defaults to the caller's primary group.</summary>
    public string? Project { get; init; }
    /// <summary>Run only on the cards of this allocation.</summary>
    public string? Allocation { get; init; }
    public SamplingOptions? Sampling { get; init; }
}

/// <summary>A job as the API shows it.</summary>
public sealed record JobInfo
{
    public long Id { get; init; }
    public string State { get; init; } = "";
    public string? Reason { get; init; }
    public uint Uid { get; init; }
    public string User { get; init; } = "";
    public string Project { get; init; } = "";
    public string Model { get; init; } = "";
    public int Priority { get; init; }
    /// <summary>1-based position in the run order while queued.</summary>
    public int? QueuePosition { get; init; }
    public string? Allocation { get; init; }
    public string Kind { get; init; } = "native";
    public DateTimeOffset SubmittedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public int TokensIn { get; init; }
    public int TokensOut { get; init; }
    /// <summary>Time to first token, from start of the run, in milliseconds.</summary>
    public double? TtftMs { get; init; }
    /// <summary>Mean time per output token after the first, in milliseconds.</summary>
    public double? TpotMs { get; init; }
    public string? Output { get; init; }
}

/// <summary>GET /api/v1/jobs.</summary>
public sealed record JobList(JobInfo[] Jobs);

/// <summary>One Server-Sent Event of GET /api/v1/jobs/{id}/events (event name = <see cref="Type"/>).</summary>
public sealed record JobEvent
{
    /// <summary>"state" (a state change) or "token" (generated text).</summary>
    public string Type { get; init; } = "";
    public long JobId { get; init; }
    public string? State { get; init; }
    public string? Reason { get; init; }
    /// <summary>Index of the token in the output (0-based), for token events.</summary>
    public int? Index { get; init; }
    public string? Text { get; init; }
    /// <summary>For "logprob" events (jobs that asked for sampling.logprobs): one generated token, before its text.</summary>
    public TokenLogprob? Logprob { get; init; }
}

/// <summary>A generated token's log probability under the model (log-softmax of the raw logits) and its top alternatives.</summary>
public sealed record TokenLogprob
{
    /// <summary>The token's text (a lone piece of a multi-byte character shows as U+FFFD; see Bytes).</summary>
    public string Token { get; init; } = "";
    /// <summary>The token's UTF-8 bytes.</summary>
    public int[] Bytes { get; init; } = [];
    public float Logprob { get; init; }
    /// <summary>The most likely tokens at this step, most likely first.</summary>
    public TopLogprob[] Top { get; init; } = [];
}

/// <summary>One alternative at a step.</summary>
public sealed record TopLogprob(string Token, int[] Bytes, float Logprob);

/// <summary>POST /api/v1/allocations.</summary>
public sealed record AllocationRequest
{
    /// <summary>Cards by index (/dev/tenstorrent/N), serial or identity.</summary>
    public string[]? Cards { get; init; }
    /// <summary>Or: this many free cards.</summary>
    public int? Count { get; init; }
    /// <summary>Exactly one of User (a user name) or Project (a group name).</summary>
    public string? User { get; init; }
    public string? Project { get; init; }
    public bool Exclusive { get; init; } = true;
    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>An allocation of cards to a user or project.</summary>
public sealed record AllocationInfo
{
    public string Id { get; init; } = "";
    public string[] Cards { get; init; } = [];
    public string? User { get; init; }
    public string? Project { get; init; }
    public bool Exclusive { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public string CreatedBy { get; init; } = "";
}

public sealed record AllocationList(AllocationInfo[] Allocations);

/// <summary>One row of the append-only audit log.</summary>
public sealed record AuditEntry(long Id, DateTimeOffset At, uint Uid, string User, int Pid, string Action, string Target, string Result, string Detail);

public sealed record AuditList(AuditEntry[] Entries);
