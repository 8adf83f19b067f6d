using System.Text.Json;
using TtEngine.Gguf;
using TtEngine.Model;
using TtEngine.Sampling;
using TtEngine.Tensors;

namespace TtEngine.Tests;

public class ForwardTests
{
    private static (int[] prompt, int[] generated, float[][] logits) Golden(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestData.Model("stories260K", "golden", name)));
        var r = doc.RootElement;
        int[] prompt = r.GetProperty("prompt_tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] gen = r.GetProperty("generated_tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        float[][] logits = r.GetProperty("logits_pos0_1_2").EnumerateArray()
            .Select(a => a.EnumerateArray().Select(e => e.GetSingle()).ToArray()).ToArray();
        return (prompt, gen, logits);
    }

    [Theory]
    [InlineData("greedy_from_bos_200.json", 1)]
    [InlineData("greedy_once_upon_a_time_64.json", 1)]
    [InlineData("greedy_once_upon_a_time_64.json", 2)]
    public void Stories260K_GreedyAndLogits_MatchGolden(string golden, int threads) =>
        MatchGolden(golden, new EngineOptions { Threads = threads, KvCacheType = KvCacheType.F32 }, 1e-4f);

    /// <summary>The default half-precision KV cache: the same greedy tokens, logits within half-precision rounding.</summary>
    [Theory]
    [InlineData("greedy_from_bos_200.json")]
    [InlineData("greedy_once_upon_a_time_64.json")]
    public void Stories260K_F16KvCache_GreedyMatchesGolden(string golden) =>
        MatchGolden(golden, new EngineOptions { Threads = 1 }, 1e-2f);

    private static void MatchGolden(string golden, EngineOptions options, float logitTolerance)
    {
        var (prompt, expected, logits) = Golden(golden);
        using var model = LlamaModel.Load(TestData.Stories260K, options);
        Assert.Equal(512, model.Config.VocabSize);
        Assert.False(model.TiedEmbeddings);
        using var seq = model.CreateSequence(512);
        var all = new List<int>(prompt);
        var generated = new List<int>();
        // teacher-force the prompt one position at a time so positions 0..2 can be checked
        int total = prompt.Length + expected.Length;
        for (int pos = 0; pos < total - 1 + 1 && generated.Count < expected.Length; pos++)
        {
            ReadOnlySpan<float> l = seq.Decode(all[pos]);
            if (pos < 3)
                for (int i = 0; i < 512; i++)
                    Assert.True(Math.Abs(l[i] - logits[pos][i]) <= logitTolerance, $"pos {pos} logit {i}: {l[i]} vs {logits[pos][i]}");
            if (pos >= prompt.Length - 1)
            {
                int next = Sampler.ArgMax(l);
                generated.Add(next);
                all.Add(next);
            }
        }
        Assert.Equal(expected, generated);
    }

    [Fact]
    public void Prefill_EqualsTokenByToken()
    {
        using var model = LlamaModel.Load(TestData.Stories260K);
        using var a = model.CreateSequence(64);
        using var b = model.CreateSequence(64);
        int[] prompt = [1, 403, 407, 261, 378];
        float[] viaPrefill = a.Prefill(prompt).ToArray();
        float[] viaDecode = [];
        foreach (int t in prompt) viaDecode = b.Decode(t).ToArray();
        Assert.Equal(viaDecode, viaPrefill);
        Assert.Equal(5, a.Position);
    }

    [Fact]
    public void ContextLimit_ThrowsClearError()
    {
        using var model = LlamaModel.Load(TestData.Stories260K);
        using var seq = model.CreateSequence(4);
        seq.Prefill([1, 2, 3]);
        seq.Decode(5);
        var ex = Assert.Throws<ContextLimitExceededException>(() => seq.Decode(6));
        Assert.Contains("capacity of 4", ex.Message);
        Assert.Throws<ContextLimitExceededException>(() => model.CreateSequence(4).Prefill([1, 2, 3, 4, 5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateSequence(4096));
    }

    [Fact]
    public void Sequences_AreIndependent()
    {
        using var model = LlamaModel.Load(TestData.Stories260K);
        using var a = model.CreateSequence(32);
        using var b = model.CreateSequence(32);
        float[] a1 = a.Prefill([1, 403]).ToArray();
        b.Prefill([1, 300, 301, 302]);
        float[] a2 = a.Decode(407).ToArray();
        using var c = model.CreateSequence(32);
        c.Prefill([1, 403]);
        Assert.Equal(a2, c.Decode(407).ToArray());
        a.Truncate(1);
        Assert.Equal(a1, a.Decode(403).ToArray());
    }

    public static TheoryData<string> Shapes()
    {
        var d = new TheoryData<string>();
        foreach (var k in ShapeTable.Keys) d.Add(k);
        return d;
    }

    private static readonly Dictionary<string, Shape> ShapeTable = new()
    {
        ["gqa1-hd64"] = new Shape(Dim: 128, Heads: 2, KvHeads: 2, HeadDim: 64, Ff: 96, Layers: 2, Vocab: 301),
        ["gqa2-hd64-tied"] = new Shape(Dim: 256, Heads: 4, KvHeads: 2, HeadDim: 64, Ff: 160, Layers: 2, Vocab: 263, Tied: true),
        ["gqa4-hd128"] = new Shape(Dim: 512, Heads: 4, KvHeads: 1, HeadDim: 128, Ff: 256, Layers: 1, Vocab: 517),
        ["gqa8-hd64-partial-rope"] = new Shape(Dim: 512, Heads: 8, KvHeads: 1, HeadDim: 64, Ff: 128, Layers: 2, Vocab: 333, RopeDim: 32, FreqBase: 500000f),
        ["gqa4-hd128-rope-freqs"] = new Shape(Dim: 256, Heads: 4, KvHeads: 1, HeadDim: 128, Ff: 128, Layers: 1, Vocab: 299, RopeFreqs: true, FreqBase: 500000f),
        ["keylen-differs"] = new Shape(Dim: 192, Heads: 4, KvHeads: 2, HeadDim: 64, Ff: 96, Layers: 1, Vocab: 271),
        ["q8_0"] = new Shape(Dim: 256, Heads: 4, KvHeads: 2, HeadDim: 64, Ff: 256, Layers: 2, Vocab: 300, Type: GgmlType.Q8_0),
        ["q4_k"] = new Shape(Dim: 256, Heads: 4, KvHeads: 2, HeadDim: 64, Ff: 512, Layers: 1, Vocab: 300, Type: GgmlType.Q4_K),
        ["q6_k-tied"] = new Shape(Dim: 256, Heads: 2, KvHeads: 1, HeadDim: 128, Ff: 256, Layers: 1, Vocab: 300, Type: GgmlType.Q6_K, Tied: true),
        ["q4_0"] = new Shape(Dim: 128, Heads: 2, KvHeads: 1, HeadDim: 64, Ff: 128, Layers: 1, Vocab: 300, Type: GgmlType.Q4_0),
        ["q5_k-f16"] = new Shape(Dim: 256, Heads: 4, KvHeads: 4, HeadDim: 64, Ff: 256, Layers: 1, Vocab: 300, Type: GgmlType.Q5_K),
        ["q4_1"] = new Shape(Dim: 160, Heads: 2, KvHeads: 1, HeadDim: 64, Ff: 96, Layers: 1, Vocab: 300, Type: GgmlType.Q4_1),
        ["q5_0"] = new Shape(Dim: 160, Heads: 2, KvHeads: 1, HeadDim: 64, Ff: 96, Layers: 1, Vocab: 300, Type: GgmlType.Q5_0),
        ["q5_1"] = new Shape(Dim: 160, Heads: 2, KvHeads: 1, HeadDim: 64, Ff: 96, Layers: 1, Vocab: 300, Type: GgmlType.Q5_1),
        ["f16"] = new Shape(Dim: 128, Heads: 2, KvHeads: 2, HeadDim: 64, Ff: 96, Layers: 1, Vocab: 300, Type: GgmlType.F16),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RandomWeights_AgreeWithFloat64Reference(string shapeName) => AgreeWithReference(shapeName, quantized: false, 2e-4);

    /// <summary>Integer-domain kernels with Q8 activations: llama.cpp-level error, not bit-level.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void RandomWeights_QuantizedActivations_CloseToFloat64Reference(string shapeName) => AgreeWithReference(shapeName, quantized: true, 3e-2);

    private static void AgreeWithReference(string shapeName, bool quantized, double tolerance)
    {
        Shape shape = ShapeTable[shapeName];
        string path = SyntheticModel.Write(shape, seed: shapeName.Length * 31 + 7);
        var reference = new ReferenceForward(path);
        using var model = LlamaModel.Load(path, new EngineOptions
        {
            Threads = 2, QuantizedActivations = quantized, KvCacheType = quantized ? KvCacheType.F16 : KvCacheType.F32, // exact path: exact cache
        });
        if (shape.Tied) Assert.True(model.TiedEmbeddings);
        using var seq = model.CreateSequence(16);
        var rng = new Random(5);
        double worst = 0;
        for (int pos = 0; pos < 12; pos++)
        {
            int token = rng.Next(shape.Vocab);
            double[] want = reference.Forward(token);
            ReadOnlySpan<float> got = seq.Decode(token);
            double scale = Math.Max(1, want.Max(Math.Abs));
            for (int i = 0; i < want.Length; i++)
                worst = Math.Max(worst, Math.Abs(got[i] - want[i]) / scale);
        }
        Assert.True(worst < tolerance, $"{shape}: worst relative logit error {worst} (quantized activations: {quantized})");
        File.Delete(path);
    }

    [Theory]
    [InlineData("gqa2-hd64-tied")]
    [InlineData("q4_k")]
    [InlineData("gqa8-hd64-partial-rope")]
    [InlineData("q4_0", true)]
    [InlineData("q8_0", true)]
    [InlineData("q4_k", true)]
    public void BatchedPrefill_AcrossChunks_EqualsTokenByTokenAndReference(string shapeName, bool quantized = false)
    {
        Shape shape = ShapeTable[shapeName] with { Context = 128 };
        string path = SyntheticModel.Write(shape, seed: 3);
        using var model = LlamaModel.Load(path, new EngineOptions
        {
            Threads = 2, QuantizedActivations = quantized, KvCacheType = quantized ? KvCacheType.F16 : KvCacheType.F32, // exact path: exact cache
        });
        var rng = new Random(9);
        int[] prompt = Enumerable.Range(0, 75).Select(_ => rng.Next(shape.Vocab)).ToArray(); // 32 + 32 + 11
        using var batched = model.CreateSequence(100);
        using var single = model.CreateSequence(100);
        float[] a = batched.Prefill(prompt).ToArray();
        float[] b = [];
        foreach (int t in prompt) b = single.Decode(t).ToArray();
        if (!quantized)
        {
            Assert.Equal(b, a); // same kernels, same order: bit-identical
            Assert.Equal(single.Decode(7).ToArray(), batched.Decode(7).ToArray()); // the caches agree too
        }
        else
        {
            // the multi-token integer kernels sum the Q4_0 offset term in another order than the decode kernel
            for (int i = 0; i < a.Length; i++) Assert.True(MathF.Abs(a[i] - b[i]) <= 1e-4f * (1 + MathF.Abs(b[i])), $"logit {i}: {a[i]} vs {b[i]}");
            float[] d1 = single.Decode(7).ToArray(), d2 = batched.Decode(7).ToArray();
            for (int i = 0; i < d1.Length; i++) Assert.True(MathF.Abs(d1[i] - d2[i]) <= 1e-4f * (1 + MathF.Abs(d1[i])), $"next logit {i}");
        }
        var reference = new ReferenceForward(path);
        double[] want = [];
        foreach (int t in prompt) want = reference.Forward(t);
        double scale = Math.Max(1, want.Max(Math.Abs));
        double tol = quantized ? 3e-2 : 5e-4;
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(a[i] - want[i]) / scale < tol, $"logit {i}: {a[i]} vs {want[i]}");
        File.Delete(path);
    }

    /// <summary>
    /// Prefill attention takes 8 prompt tokens per pass over the cached rows (each F16 row converted once for them); every
    /// token must still get exactly what it gets on its own, from any start position and at any thread count.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Prefill_attention_for_8_tokens_at_a_time_equals_token_by_token_with_the_F16_cache(int threads)
    {
        Shape shape = ShapeTable["gqa2-hd64-tied"] with { Context = 160 }; // two KV heads: one per thread at two threads
        string path = SyntheticModel.Write(shape, seed: 11);
        using var model = LlamaModel.Load(path, new EngineOptions { Threads = threads, QuantizedActivations = false, KvCacheType = KvCacheType.F16 });
        var rng = new Random(4);
        int[] prompt = Enumerable.Range(0, 110).Select(_ => rng.Next(shape.Vocab)).ToArray();
        using var batched = model.CreateSequence(150);
        using var single = model.CreateSequence(150);
        batched.Prefill(prompt.AsSpan(0, 5)); // later passes start mid-chunk: positions 5.., 37.., 69.., 101..
        float[] a = batched.Prefill(prompt.AsSpan(5)).ToArray();
        float[] b = [];
        foreach (int t in prompt) b = single.Decode(t).ToArray();
        Assert.Equal(b, a);
        Assert.Equal(single.Decode(9).ToArray(), batched.Decode(9).ToArray()); // the caches agree too
        File.Delete(path);
    }

    [Fact]
    public void Load_MissingTensor_NamesIt()
    {
        var w = new GgufWriter();
        w.AddString("general.architecture", "llama");
        var ex = Assert.Throws<GgufFormatException>(() =>
        {
            string p = TestData.TempFile("bad.gguf");
            w.WriteTo(p);
            LlamaModel.Load(p);
        });
        Assert.Contains("token_embd.weight", ex.Message);
    }

    [Fact]
    public void Load_WrongArchitecture_Rejected()
    {
        var w = new GgufWriter();
        w.AddString("general.architecture", "gpt2");
        w.AddTensor("token_embd.weight", [4, 2], new float[8]);
        string p = TestData.TempFile("arch.gguf");
        w.WriteTo(p);
        var ex = Assert.Throws<GgufFormatException>(() => LlamaModel.Load(p));
        Assert.Contains("'gpt2' is not supported", ex.Message);
    }
}
