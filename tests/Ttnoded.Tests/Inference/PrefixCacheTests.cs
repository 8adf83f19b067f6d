using TtEngine.Model;
using Ttnoded.Inference;
using Ttnoded.Tests.Jobs;

namespace Ttnoded.Tests.Inference;

/// <summary>The prefix cache's bookkeeping on a real model (stories260K): what it keeps, reuses and evicts.</summary>
public sealed class PrefixCacheTests
{
    private static readonly Lazy<LlamaModel> Model = new(() => LlamaModel.Load(InProcessNode.GgufPath, new EngineOptions { Threads = 1 }));
    private const int Capacity = 64;

    private static Sequence Filled(int[] tokens)
    {
        var seq = Model.Value.CreateSequence(Capacity);
        seq.Prefill(tokens);
        return seq;
    }

    private static int[] Tokens(int first, int n) => [1, .. Enumerable.Range(first, n - 1)];

    private static PrefixCache Cache(int sequences, PrefixCacheStats? stats = null) =>
        new(sequences * Capacity * Model.Value.KvBytesPerCachedToken, Model.Value.KvBytesPerCachedToken, stats ?? new PrefixCacheStats());

    [Fact]
    public void Reuse_copies_the_longest_shared_prefix_but_leaves_the_last_prompt_token_to_prefill()
    {
        var stats = new PrefixCacheStats();
        using var cache = Cache(4, stats);
        int[] a = Tokens(100, 20);
        cache.Offer(Filled(a), a);
        using var target = Model.Value.CreateSequence(Capacity);
        Assert.Equal(19, cache.Reuse(a, target));        // the whole prompt is cached: all but its last token
        Assert.Equal(19, target.Position);
        using var other = Model.Value.CreateSequence(Capacity);
        int[] b = [.. a[..12], 300, 301, 302];
        Assert.Equal(12, cache.Reuse(b, other));
        Assert.Equal(19 + 12, stats.HitTokens);
        Assert.Equal(20 + 15, stats.QueriedTokens);
    }

    [Fact]
    public void Short_or_unrelated_prefixes_are_not_reused()
    {
        using var cache = Cache(4);
        int[] a = Tokens(100, 20);
        cache.Offer(Filled(a), a);
        using var t1 = Model.Value.CreateSequence(Capacity);
        Assert.Equal(0, cache.Reuse([1, 100, 101, 400, 401, 402], t1)); // 3 shared tokens: below the minimum
        Assert.Equal(0, t1.Position);
        using var t2 = Model.Value.CreateSequence(Capacity);
        Assert.Equal(0, cache.Reuse(Tokens(200, 10), t2));
    }

    [Fact]
    public void A_longer_sequence_replaces_the_entry_it_extends_and_the_least_recently_used_goes_past_the_budget()
    {
        using var cache = Cache(2);
        int[] a = Tokens(100, 10);
        int[] a2 = [.. a, 110, 111, 112];
        cache.Offer(Filled(a), a);
        cache.Offer(Filled(a2), a2);
        Assert.Equal(1, cache.Count);                    // a2 covers a

        int[] b = Tokens(200, 10), c = Tokens(300, 10);
        cache.Offer(Filled(b), b);
        using (var t = Model.Value.CreateSequence(Capacity)) Assert.Equal(13, cache.Reuse([.. a2, 5], t)); // a2 used: b is now LRU
        cache.Offer(Filled(c), c);
        Assert.Equal(2, cache.Count);
        using var tb = Model.Value.CreateSequence(Capacity);
        Assert.Equal(0, cache.Reuse([.. b, 5], tb));     // evicted
        using var tc = Model.Value.CreateSequence(Capacity);
        Assert.Equal(10, cache.Reuse([.. c, 5], tc));
    }

    [Fact]
    public void A_zero_budget_keeps_nothing()
    {
        using var cache = new PrefixCache(0, Model.Value.KvBytesPerCachedToken, new PrefixCacheStats());
        int[] a = Tokens(100, 10);
        var seq = Filled(a);
        cache.Offer(seq, a);
        Assert.Equal(0, cache.Count);
        Assert.Throws<ObjectDisposedException>(() => seq.Decode(5)); // given back: disposed
    }
}
