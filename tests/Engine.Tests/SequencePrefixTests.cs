using TtEngine.Model;

namespace TtEngine.Tests;

/// <summary>Sequence.CopyPrefixFrom: a copied prefix must leave the cache exactly as prefilling it would.</summary>
public sealed class SequencePrefixTests
{
    private static readonly Lazy<LlamaModel> Stories = new(() => LlamaModel.Load(TestData.Stories260K, new EngineOptions { Threads = 1 }));

    [Fact]
    public void Copied_prefix_then_prefilled_rest_gives_the_logits_of_a_full_prefill()
    {
        var m = Stories.Value;
        int[] prompt = m.Tokenizer.Encode("Once upon a time, there was a little girl named Lily. She loved to play outside.", addSpecial: true);
        Assert.True(prompt.Length > 12);
        using var full = m.CreateSequence(prompt.Length + 8);
        float[] expected = full.Prefill(prompt).ToArray();

        using var reused = m.CreateSequence(prompt.Length + 32); // another capacity: rows must land per layer, not as one block
        int k = prompt.Length - 5;
        reused.CopyPrefixFrom(full, k);
        Assert.Equal(k, reused.Position);
        float[] got = reused.Prefill(prompt.AsSpan(k)).ToArray();
        Assert.Equal(expected.Length, got.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - got[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"logit {i}: {got[i]} vs {expected[i]}");
        Assert.Equal(full.Position, reused.Position);
    }

    [Fact]
    public void A_prompt_fed_in_slices_without_middle_logits_ends_with_the_logits_of_one_prefill()
    {
        var m = Stories.Value;
        int[] prompt = m.Tokenizer.Encode("Once upon a time, there was a little girl named Lily. She loved to play outside.", addSpecial: true);
        using var whole = m.CreateSequence(prompt.Length);
        float[] expected = whole.Prefill(prompt).ToArray();
        using var sliced = m.CreateSequence(prompt.Length);
        Assert.True(sliced.Prefill(prompt.AsSpan(0, 7), computeLogits: false).IsEmpty);
        Assert.True(sliced.Prefill(prompt.AsSpan(7, 5), computeLogits: false).IsEmpty);
        float[] got = sliced.Prefill(prompt.AsSpan(12), computeLogits: true).ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - got[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"logit {i}: {got[i]} vs {expected[i]}");
    }

    [Fact]
    public void Copy_refuses_more_tokens_than_the_source_holds_or_the_target_fits()
    {
        var m = Stories.Value;
        using var src = m.CreateSequence(16);
        src.Prefill([1, 400, 401, 402, 403]);
        using var small = m.CreateSequence(3);
        Assert.Throws<ArgumentOutOfRangeException>(() => small.CopyPrefixFrom(src, 6));
        Assert.Throws<ContextLimitExceededException>(() => small.CopyPrefixFrom(src, 4));
        small.CopyPrefixFrom(src, 3);
        Assert.Equal(3, small.Position);
    }
}

/// <summary>LogProbs.Of: log-softmax and the top alternatives.</summary>
public sealed class LogProbsTests
{
    [Fact]
    public void Logprobs_are_a_normalised_log_softmax_and_the_top_list_is_sorted()
    {
        float[] logits = [1f, 3f, -2f, 3.5f, 0f, 2f];
        Span<int> ids = stackalloc int[3];
        Span<float> lps = stackalloc float[3];
        float lp = TtEngine.Sampling.LogProbs.Of(logits, 1, ids, lps);
        double z = logits.Sum(l => Math.Exp(l));
        Assert.Equal(Math.Log(Math.Exp(3) / z), lp, 5);
        Assert.Equal([3, 1, 5], ids.ToArray());
        Assert.Equal(Math.Log(Math.Exp(3.5) / z), lps[0], 5);
        Assert.True(lps[0] >= lps[1] && lps[1] >= lps[2]);
        Assert.Equal(1.0, logits.Sum(l => Math.Exp(TtEngine.Sampling.LogProbs.Of(logits, Array.IndexOf(logits, l), [], []))), 5);
    }
}
