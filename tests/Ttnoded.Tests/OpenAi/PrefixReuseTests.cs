using System.Globalization;
using System.Text;
using System.Text.Json;
using TtEngine.Model;
using Ttnoded.Tests.Jobs;

namespace Ttnoded.Tests.OpenAi;

/// <summary>Prompt prefix reuse in the continuous batch: real socket, real engine on stories260K, counters from /metrics.</summary>
public sealed class PrefixReuseTests
{
    private const string M = InProcessNode.Model;
    private const string Story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    private static async Task<string> CompleteAsync(InProcessNode node, string prompt, bool? cachePrompt = null)
    {
        string extra = cachePrompt is bool b ? $",\"cache_prompt\":{(b ? "true" : "false")}" : "";
        var resp = await node.Http.PostAsync("v1/completions", new StringContent(
            $$"""{"model":"{{M}}","prompt":{{JsonSerializer.Serialize(prompt)}},"max_tokens":24,"temperature":0{{extra}}}""", Encoding.UTF8, "application/json"));
        string body = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, body);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    private static async Task<(long Queries, long Hits)> CountersAsync(InProcessNode node)
    {
        string text = await node.Http.GetStringAsync("metrics");
        long Value(string name)
        {
            string line = text.Split('\n').Single(l => l.StartsWith($"{name}{{model_name=\"{M}\"}} ", StringComparison.Ordinal));
            return long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
        return (Value("vllm:prefix_cache_queries_total"), Value("vllm:prefix_cache_hits_total"));
    }

    private static string Alone(string prompt)
    {
        using var model = LlamaModel.Load(InProcessNode.GgufPath, new EngineOptions { Threads = 1 });
        return model.Generate(prompt, new GenerationOptions { MaxTokens = 24, Sampling = TtEngine.Sampling.SamplingOptions.Greedy }).Text;
    }

    [Fact]
    public async Task A_prompt_that_continues_an_earlier_one_reuses_its_cache_and_answers_as_if_prefilled()
    {
        await using var node = new InProcessNode();
        await CompleteAsync(node, Story);
        var (q0, h0) = await CountersAsync(node);
        Assert.Equal(0, h0);
        Assert.True(q0 > 20);

        string longer = Story + " One day she found a";
        string text = await CompleteAsync(node, longer);
        var (_, h1) = await CountersAsync(node);
        Assert.True(h1 >= q0 - 2, $"expected the earlier prompt (~{q0} tokens) to be reused, hits {h1}");
        Assert.Equal(Alone(longer), text);

        // The same prompt again reuses all but its last token, and still gives the same answer.
        string again = await CompleteAsync(node, longer);
        var (_, h2) = await CountersAsync(node);
        Assert.True(h2 - h1 >= q0, $"hits {h2 - h1}");
        Assert.Equal(text, again);
    }

    [Fact]
    public async Task Cache_prompt_false_prefills_everything()
    {
        await using var node = new InProcessNode();
        await CompleteAsync(node, Story);
        string text = await CompleteAsync(node, Story, cachePrompt: false);
        var (q, h) = await CountersAsync(node);
        Assert.Equal(0, h);
        Assert.True(q > 20); // only the first request looked the cache up
        Assert.Equal(Alone(Story), text);
    }

    [Fact]
    public async Task A_zero_budget_turns_reuse_off()
    {
        await using var node = new InProcessNode(c => c.Engine.PrefixCacheMiB = 0);
        await CompleteAsync(node, Story);
        await CompleteAsync(node, Story);
        Assert.Equal(0, (await CountersAsync(node)).Hits);
    }
}
