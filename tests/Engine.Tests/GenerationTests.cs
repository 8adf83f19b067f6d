using System.Text.Json;
using TtEngine.Chat;
using TtEngine.Model;
using TtEngine.Sampling;

namespace TtEngine.Tests;

public class GenerationTests
{
    private static readonly Lazy<LlamaModel> Stories = new(() => LlamaModel.Load(TestData.Stories260K, new EngineOptions { Threads = 1 }));

    private static (string prompt, string text, int steps, int promptTokens) Golden(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestData.Model("stories260K", "golden", name)));
        var r = doc.RootElement;
        return (r.GetProperty("prompt").GetString()!, r.GetProperty("text").GetString()!, r.GetProperty("steps").GetInt32(),
            r.GetProperty("prompt_tokens").GetArrayLength());
    }

    [Theory]
    [InlineData("greedy_from_bos_200.json")]
    [InlineData("greedy_once_upon_a_time_64.json")]
    public void Generate_Greedy_StreamsGoldenText(string golden)
    {
        var (prompt, text, steps, promptTokens) = Golden(golden);
        int n = steps - promptTokens + 1;
        var pieces = new List<string>();
        var r = Stories.Value.Generate(prompt, new GenerationOptions { MaxTokens = n, Sampling = SamplingOptions.Greedy, StopOnEndOfGeneration = false },
            pieces.Add);
        Assert.Equal(StopReason.MaxTokens, r.StopReason);
        Assert.Equal(promptTokens, r.PromptTokens);
        Assert.Equal(n, r.GeneratedTokens);
        Assert.Equal(text, prompt + string.Concat(pieces));
        Assert.Equal(string.Concat(pieces), r.Text);
        Assert.True(r.TimeToFirstToken > TimeSpan.Zero);
    }

    [Fact]
    public void Generate_StopString_TruncatesBeforeIt()
    {
        var r = Stories.Value.Generate("Once upon a time", new GenerationOptions { MaxTokens = 60, Sampling = SamplingOptions.Greedy, StopStrings = ["Lily."] });
        Assert.Equal(StopReason.StopString, r.StopReason);
        Assert.Equal(", there was a little girl named ", r.Text);
    }

    [Fact]
    public void Generate_SameSeed_SameOutput_DifferentSeed_Differs()
    {
        var o1 = new GenerationOptions { MaxTokens = 40, Sampling = new SamplingOptions { Temperature = 1.0f, TopK = 0, TopP = 1, MinP = 0, Seed = 7 } };
        var o2 = new GenerationOptions { MaxTokens = 40, Sampling = new SamplingOptions { Temperature = 1.0f, TopK = 0, TopP = 1, MinP = 0, Seed = 8 } };
        var a = Stories.Value.Generate("Once upon a time", o1);
        var b = Stories.Value.Generate("Once upon a time", o1);
        var c = Stories.Value.Generate("Once upon a time", o2);
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.NotEqual(a.Tokens, c.Tokens);
    }

    [Fact]
    public void Generate_Cancelled_StopsBetweenSteps()
    {
        using var cts = new CancellationTokenSource();
        int pieces = 0;
        var r = Stories.Value.Generate("Once upon a time", new GenerationOptions { MaxTokens = 100, Sampling = SamplingOptions.Greedy },
            _ => { if (++pieces == 3) cts.Cancel(); }, cts.Token);
        Assert.Equal(StopReason.Cancelled, r.StopReason);
        Assert.Equal(3, r.GeneratedTokens);
    }

    [Fact]
    public void Generate_StopsOnEos_WithoutEmittingIt()
    {
        var m = Stories.Value;
        var eos = new Dictionary<int, float> { [m.Tokenizer.EosId] = 1000f };
        var biased = new GenerationOptions { MaxTokens = 50, Sampling = new SamplingOptions { Temperature = 0, LogitBias = eos } };
        var r = m.Generate("Once upon a time", biased);
        Assert.Equal(StopReason.EndOfGeneration, r.StopReason);
        Assert.Equal([m.Tokenizer.EosId], r.Tokens);
        Assert.Equal("", r.Text);
        var ignore = new GenerationOptions { MaxTokens = 3, StopOnEndOfGeneration = false, Sampling = new SamplingOptions { Temperature = 0, LogitBias = eos } };
        Assert.Equal(StopReason.MaxTokens, m.Generate("Once upon a time", ignore).StopReason);
    }

    [Fact]
    public void Sampler_LogitBias_BansToken()
    {
        float[] logits = [1f, 5f, 2f];
        var s = new Sampler(new SamplingOptions { Temperature = 0, LogitBias = new Dictionary<int, float> { [1] = float.NegativeInfinity } }, 3);
        Assert.Equal(2, s.Sample(logits, []));
    }

    [Fact]
    public void Decode_SteadyState_AllocatesNothing()
    {
        using var model = LlamaModel.Load(TestData.Stories260K, new EngineOptions { Threads = 2 });
        using var seq = model.CreateSequence(256);
        seq.Prefill([1, 403, 407]);
        for (int i = 0; i < 5; i++) seq.Decode(261); // warm up (JIT, lazy statics)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) seq.Decode(261 + i % 50);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Sampler_TopK_SamplesOnlyTheKLargest()
    {
        var rng = new Random(4);
        float[] logits = Enumerable.Range(0, 5000).Select(_ => (float)(rng.NextDouble() * 4)).ToArray();
        var top = logits.Select((v, i) => (v, i)).OrderByDescending(t => t.v).Take(10).Select(t => t.i).ToHashSet();
        var s = new Sampler(new SamplingOptions { Temperature = 50f, TopK = 10, TopP = 1, MinP = 0, Seed = 5 }, logits.Length);
        var seen = new HashSet<int>();
        for (int i = 0; i < 500; i++)
        {
            int t = s.Sample(logits, []);
            Assert.Contains(t, top);
            seen.Add(t);
        }
        Assert.Equal(10, seen.Count); // near-flat temperature: every one of the k shows up
    }

    [Fact]
    public void ArgMax_is_the_plain_loops_answer_with_ties_NaNs_infinities_and_signed_zeros()
    {
        var rng = new Random(7);
        float[] pool = [0f, -0f, 1f, -1f, 2.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e-45f, -3e38f];
        for (int trial = 0; trial < 4000; trial++)
        {
            int n = rng.Next(0, 70);
            var v = new float[n];
            bool fewValues = trial % 2 == 0; // many ties and special values, or random floats with a few NaNs
            for (int i = 0; i < n; i++)
                v[i] = fewValues ? pool[rng.Next(pool.Length)] : rng.Next(20) == 0 ? float.NaN : (float)(rng.NextDouble() * 2 - 1);
            int expected = 0;
            for (int i = 1; i < n; i++) if (v[i] > v[expected]) expected = i;
            Assert.Equal(expected, Sampler.ArgMax(v));
        }
        var large = new float[128256]; // a Llama 3 vocabulary, the maximum late and tied once
        for (int i = 0; i < large.Length; i++) large[i] = (float)Math.Sin(i);
        large[100_003] = 5f;
        large[120_000] = 5f;
        Assert.Equal(100_003, Sampler.ArgMax(large));
    }

    [Fact]
    public void Sampler_TopK1_IsArgMax()
    {
        float[] logits = [0.1f, 3f, 2.9f, -1f];
        var s = new Sampler(new SamplingOptions { Temperature = 5f, TopK = 1, Seed = 1 }, 4);
        for (int i = 0; i < 20; i++) Assert.Equal(1, s.Sample(logits, []));
    }

    [Fact]
    public void Sampler_MinP_and_TopP_RestrictCandidates()
    {
        float[] logits = [5f, 4.9f, 0f, -3f, 1f];
        var minp = new Sampler(new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 1, MinP = 0.5f, Seed = 3 }, 5);
        var topp = new Sampler(new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 0.5f, MinP = 0, Seed = 3 }, 5);
        var seenMin = new HashSet<int>();
        var seenTop = new HashSet<int>();
        for (int i = 0; i < 300; i++)
        {
            seenMin.Add(minp.Sample(logits, []));
            seenTop.Add(topp.Sample(logits, []));
        }
        Assert.Equal([0, 1], seenMin.Order());
        Assert.Equal([0], seenTop.Order()); // p(0) ≈ 0.51 ≥ 0.5
    }

    [Fact]
    public void Sampler_Penalties_FollowLlamaCppFormula()
    {
        float[] logits = [2f, -2f, 1.9f];
        var rep = new Sampler(new SamplingOptions { Temperature = 0, RepeatPenalty = 2f }, 3);
        Assert.Equal(2, rep.Sample(logits, [0])); // 2/2 = 1 < 1.9
        var neg = new Sampler(new SamplingOptions { Temperature = 0, RepeatPenalty = 2f }, 3);
        Assert.Equal(2, neg.Sample([-1f, -1.5f, -1.9f], [0, 1])); // negative logits are multiplied: -2, -3, -1.9
        var freq = new Sampler(new SamplingOptions { Temperature = 0, FrequencyPenalty = 0.04f }, 3);
        Assert.Equal(0, freq.Sample(logits, [0]));      // 2 - 0.04 = 1.96 > 1.9
        Assert.Equal(2, freq.Sample(logits, [0, 0, 0])); // 2 - 0.12 = 1.88 < 1.9
        var pres = new Sampler(new SamplingOptions { Temperature = 0, PresencePenalty = 0.05f }, 3);
        Assert.Equal(0, pres.Sample(logits, [0, 0, 0])); // presence counts once: 1.95 > 1.9
    }

    [Fact]
    public void Sampler_DistributionFollowsSoftmax()
    {
        float[] logits = [0f, MathF.Log(3f)]; // p = 0.25, 0.75
        var s = new Sampler(new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 1, MinP = 0, Seed = 11 }, 2);
        int ones = 0;
        for (int i = 0; i < 4000; i++) ones += s.Sample(logits, []);
        Assert.InRange(ones / 4000.0, 0.72, 0.78);
    }

    [Fact]
    public void StopStringFilter_HoldsPartialMatches()
    {
        var f = new StopStringFilter(["</end>"]);
        Assert.Equal(("abc", false), f.Push("abc</"));
        Assert.Equal(("", false), f.Push("en"));
        Assert.Equal(("</enX", false), f.Push("X"));
        Assert.Equal(("q", true), f.Push("q</end>tail"));
    }

    [Fact]
    public void ChatTemplate_Llama3_RendersAndTokenizes()
    {
        string template = File.ReadAllText(TestData.Model("llama3-tokenizer", "tokenizer_config.json"));
        Assert.Equal(ChatFormat.Llama3, ChatTemplate.Detect(template));
        string text = ChatTemplate.Apply(ChatFormat.Llama3, [new("system", "Be brief."), new("user", " Hi! ")]);
        Assert.Equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
                     "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", text);
        var tok = TtEngine.Tokenization.Tokenizer.FromHuggingFaceJson(TestData.Model("llama3-tokenizer", "tokenizer.json"));
        int[] ids = tok.Encode(text, addSpecial: false, parseSpecial: true);
        Assert.Equal(128000, ids[0]);
        Assert.Equal(1, ids.Count(i => i == 128000));
        Assert.Equal(3, ids.Count(i => i == 128006));
        Assert.Equal(2, ids.Count(i => i == 128009));
    }

    [Fact]
    public void ChatTemplate_Llama31_AddsKnowledgePreamble()
    {
        Assert.Equal(ChatFormat.Llama31, ChatTemplate.Detect("{{- \"Cutting Knowledge Date: December 2023\\n\" }}<|start_header_id|>"));
        string text = ChatTemplate.Apply(ChatFormat.Llama31, [new("user", "Hi")]);
        Assert.StartsWith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>", text);
        Assert.EndsWith("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", text);
    }

    [Fact]
    public void ChatTemplate_Llama2_Format()
    {
        Assert.Equal(ChatFormat.Llama2, ChatTemplate.Detect("{% if messages[0]['role'] == 'system' %}...[INST]...{% endif %}"));
        string text = ChatTemplate.Apply(ChatFormat.Llama2,
            [new("system", "S"), new("user", "U1"), new("assistant", "A1"), new("user", "U2")]);
        Assert.Equal("<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]", text);
        Assert.Equal(ChatFormat.Llama2, Stories.Value.ChatFormat); // no template, SPM vocab without Llama 3 headers
        var r = Stories.Value.GenerateChat([new("user", "Tell me a story")], new GenerationOptions { MaxTokens = 5, Sampling = SamplingOptions.Greedy });
        Assert.Equal(5, r.GeneratedTokens);
    }

    [Fact]
    public void SeveralSequences_ConcurrentThreads_MatchSequentialResults()
    {
        var m = Stories.Value;
        var opts = new GenerationOptions { MaxTokens = 30, Sampling = SamplingOptions.Greedy };
        string[] prompts = ["Once upon a time", "Lily", "The dog"];
        var sequential = prompts.Select(p => m.Generate(p, opts).Text).ToArray();
        var parallel = new string[prompts.Length];
        Parallel.For(0, prompts.Length, i => parallel[i] = m.Generate(prompts[i], opts).Text);
        Assert.Equal(sequential, parallel);
    }
}
