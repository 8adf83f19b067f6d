using TtEngine.Model;

namespace Ttnoded.Inference;

/// <summary>
/// KV caches of finished requests, kept so a new request whose prompt starts the same way (a shared system prompt, a chat
/// that goes on, a retried request) copies that part instead of prefilling it. Bounded by bytes of KV memory held;
/// least recently used entries go first. Owned by one model's engine thread: not thread-safe.
/// </summary>
public sealed class PrefixCache(long budgetBytes, long kvBytesPerToken, PrefixCacheStats stats) : IDisposable
{
    /// <summary>Shortest shared prefix worth a copy (below it, prefill is as cheap and the entry stays untouched).</summary>
    public const int MinReuseTokens = 4;

    private sealed class Entry(Sequence seq, int[] tokens)
    {
        public Sequence Seq { get; } = seq;
        public int[] Tokens { get; } = tokens;   // exactly the tokens in Seq's KV cache (Seq.Position of them)
        public long LastUsed;
    }

    private readonly List<Entry> _entries = [];
    private long _clock;

    /// <summary>Entries held.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// Fills <paramref name="target"/> (empty) with the longest cached prefix of <paramref name="prompt"/>, leaving at least
    /// the prompt's last token to prefill (its logits are needed). Returns the number of tokens copied (0 = no reuse).
    /// </summary>
    public int Reuse(ReadOnlySpan<int> prompt, Sequence target)
    {
        Interlocked.Add(ref stats.QueriedTokens, prompt.Length);
        if (budgetBytes <= 0 || target.Position != 0) return 0;
        int limit = Math.Min(prompt.Length - 1, target.Capacity);
        Entry? best = null;
        int bestLen = 0;
        foreach (var e in _entries)
        {
            int n = prompt[..Math.Min(limit, e.Tokens.Length)].CommonPrefixLength(e.Tokens);
            if (n > bestLen) { best = e; bestLen = n; }
        }
        if (best is null || bestLen < MinReuseTokens) return 0;
        target.CopyPrefixFrom(best.Seq, bestLen);
        best.LastUsed = ++_clock;
        Interlocked.Add(ref stats.HitTokens, bestLen);
        return bestLen;
    }

    /// <summary>
    /// Offers a finished request's sequence; <paramref name="tokens"/> are the tokens fed to it (its KV cache holds exactly
    /// these). The cache takes ownership (it disposes the sequence when it is evicted or not kept).
    /// </summary>
    public void Offer(Sequence seq, ReadOnlySpan<int> tokens)
    {
        int held = Math.Min(seq.Position, tokens.Length);
        if (budgetBytes <= 0 || held < MinReuseTokens || Bytes(seq) > budgetBytes) { seq.Dispose(); return; }
        var fed = tokens[..held];
        // An entry whose tokens are a prefix of these is covered by the newcomer; one that covers these makes it redundant.
        for (int i = _entries.Count - 1; i >= 0; i--)
        {
            var e = _entries[i];
            if (e.Tokens.Length <= held && fed.StartsWith(e.Tokens)) { e.Seq.Dispose(); _entries.RemoveAt(i); }
            else if (e.Tokens.AsSpan().StartsWith(fed)) { e.LastUsed = ++_clock; seq.Dispose(); return; }
        }
        _entries.Add(new Entry(seq, fed.ToArray()) { LastUsed = ++_clock });
        long total = _entries.Sum(Bytes);
        while (total > budgetBytes && _entries.Count > 0)
        {
            var lru = _entries.MinBy(e => e.LastUsed)!;
            total -= Bytes(lru);
            lru.Seq.Dispose();
            _entries.Remove(lru);
        }
    }

    private long Bytes(Sequence s) => s.Capacity * kvBytesPerToken;
    private long Bytes(Entry e) => Bytes(e.Seq);

    /// <summary>Frees every cached KV cache.</summary>
    public void Dispose()
    {
        foreach (var e in _entries) e.Seq.Dispose();
        _entries.Clear();
    }
}
