namespace Ttnoded.Inference;

/// <summary>
/// Prefix-cache counters of one model, kept by the pool across unload/reload so /metrics counters never go backwards.
/// Written by the model's engine thread, read by scrapes (Interlocked).
/// </summary>
public sealed class PrefixCacheStats
{
    /// <summary>Prompt tokens looked up in the cache.</summary>
    public long QueriedTokens;

    /// <summary>Prompt tokens copied from the cache instead of prefilled.</summary>
    public long HitTokens;
}
