namespace Ttctl.Bench;

/// <summary>One (concurrency, ISL, OSL) cell as measured from the client side.</summary>
internal sealed record BenchCell
{
    public int Concurrency { get; init; }
    /// <summary>Input and output lengths asked for, and what was run after capping at the model's context.</summary>
    public int IslRequested { get; init; }
    public int OslRequested { get; init; }
    public int Isl { get; init; }
    public int Osl { get; init; }
    public bool Capped { get; init; }
    public int Requests { get; init; }
    public int Errors { get; init; }
    public string? FirstError { get; init; }
    public double Seconds { get; init; }
    public double TtftP50Ms { get; init; }
    public double TtftP99Ms { get; init; }
    public double TpotP50Ms { get; init; }
    public double TpotP99Ms { get; init; }
    public double E2eP50Ms { get; init; }
    /// <summary>Per-request ISL / TTFT, median (TTFT includes queueing at concurrency &gt; 1).</summary>
    public double PrefillTokPerSec { get; init; }
    /// <summary>Generated tokens of all requests over the cell's wall time.</summary>
    public double OutputTokPerSec { get; init; }
    /// <summary>1000 / TPOT p50: what one user sees.</summary>
    public double TokPerSecPerUser { get; init; }
    public double RequestsPerSec { get; init; }
}

/// <summary>One use case of the recommendation matrix, filled from the cells.</summary>
internal sealed record BenchRecommendation
{
    public string UseCase { get; init; } = "";
    public string Shape { get; init; } = "";
    public string Target { get; init; } = "";
    public int Isl { get; init; }
    public int Osl { get; init; }
    /// <summary>Largest measured concurrency meeting the target, or null (none did / not measured).</summary>
    public int? MaxConcurrency { get; init; }
    public double? TtftP99Ms { get; init; }
    public double? TpotP50Ms { get; init; }
    public double? OutputTokPerSec { get; init; }
    public string Note { get; init; } = "";
}

internal sealed record BenchReport
{
    public string Model { get; init; } = "";
    public int? ContextLength { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public double DurationPerCellSeconds { get; init; }
    public string Method { get; init; } = "";
    public List<string> Notes { get; init; } = [];
    public List<BenchCell> Cells { get; init; } = [];
    public List<BenchRecommendation> Recommendations { get; init; } = [];
}
