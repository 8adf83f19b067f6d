namespace Ttnoded.Scheduling;

/// <summary>The knobs of the run order. docs/scheduling.md explains them with a worked example.</summary>
public sealed record SchedulingPolicy
{
    /// <summary>Every this-many seconds of waiting raises a job's effective priority by one (no cap: a job waits at most
    /// (100 - priority) × AgingSeconds before it outranks every fresh job).</summary>
    public double AgingSeconds { get; init; } = 60;

    /// <summary>Half-life of recorded usage (engine-seconds): old usage counts less and less.</summary>
    public TimeSpan UsageHalfLife { get; init; } = TimeSpan.FromHours(1);

    public int MaxRunningPerUser { get; init; } = int.MaxValue;
    public int MaxRunningPerProject { get; init; } = int.MaxValue;

    /// <summary>Relative shares of projects (default 1 each).</summary>
    public IReadOnlyDictionary<string, double> ProjectWeights { get; init; } = new Dictionary<string, double>();

    public double WeightOf(string project) => ProjectWeights.TryGetValue(project, out double w) && w > 0 ? w : 1.0;
}
