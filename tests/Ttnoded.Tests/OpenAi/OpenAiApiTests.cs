using System.Net;
using System.Text;
using System.Text.Json;
using TtEngine.Model;
using TtProtocol.Jobs;
using Ttnoded.Tests.Jobs;

namespace Ttnoded.Tests.OpenAi;

/// <summary>/v1 end to end: real socket, real store, real engine on stories260K; requests as OpenAI clients send them.</summary>
public sealed class OpenAiApiTests
{
    private const string M = InProcessNode.Model;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(InProcessNode node, string path, string json)
    {
        var resp = await node.Http.PostAsync(path, Json(json));
        string text = await resp.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return (resp.StatusCode, doc.RootElement.Clone(), resp);
    }

    /// <summary>The "data: " payloads of an SSE body, in order.</summary>
    private static List<string> DataLines(string sse)
    {
        Assert.DoesNotContain("\r", sse);
        var events = sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        return events.Select(e => e["data: ".Length..]).ToList();
    }

    private static string Greedy(string prompt, int max)
    {
        using var model = LlamaModel.Load(InProcessNode.GgufPath, new EngineOptions { Threads = 1 });
        return model.Generate(prompt, new GenerationOptions { MaxTokens = max, Sampling = TtEngine.Sampling.SamplingOptions.Greedy }).Text;
    }

    [Fact]
    public async Task Models_lists_the_catalog()
    {
        await using var node = new InProcessNode();
        using var doc = JsonDocument.Parse(await node.Http.GetStringAsync("v1/models"));
        Assert.Equal("list", doc.RootElement.GetProperty("object").GetString());
        var card = Assert.Single(doc.RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal(M, card.GetProperty("id").GetString());
        Assert.Equal("model", card.GetProperty("object").GetString());
        Assert.Equal("ttnoded", card.GetProperty("owned_by").GetString());
        Assert.Equal(JsonValueKind.Number, card.GetProperty("created").ValueKind);
        Assert.True(card.GetProperty("max_model_len").GetInt32() > 0);
    }

    [Fact]
    public async Task Completion_is_a_job_and_answers_in_openai_shape()
    {
        await using var node = new InProcessNode();
        var (status, body, resp) = await PostAsync(node, "v1/completions",
            $$"""{"model":"{{M}}","prompt":"Once upon a time","max_tokens":20,"temperature":0,"priority":42,"user":"alice"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        long jobId = long.Parse(resp.Headers.GetValues("X-Ttnoded-Job").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"cmpl-{jobId}", body.GetProperty("id").GetString());
        Assert.Equal(M, body.GetProperty("model").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal(Greedy("Once upon a time", 20), choice.GetProperty("text").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());

        var job = await node.GetAsync(jobId); // the same job the native API shows (and `ttctl queue` listed)
        Assert.Equal("completion", job.Kind);
        Assert.Equal(42, job.Priority);
        Assert.Equal(JobStates.Succeeded, job.State);
        Assert.Equal(job.TokensOut, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(choice.GetProperty("finish_reason").GetString(), job.Reason);
    }

    [Fact]
    public async Task Chat_completion_answers_as_the_assistant()
    {
        await using var node = new InProcessNode();
        var (status, body, resp) = await PostAsync(node, "v1/chat/completions",
            $$"""{"model":"{{M}}","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Tell me a story."}]}],"max_completion_tokens":8,"seed":1,"top_k":40,"top_p":0.9,"min_p":0.05,"repetition_penalty":1.1,"presence_penalty":0.1,"frequency_penalty":0.1,"stop":["\n\n"],"n":1,"logprobs":false}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.String, choice.GetProperty("message").GetProperty("content").ValueKind);
        Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        Assert.True(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32() <= 8);
        long jobId = long.Parse(resp.Headers.GetValues("X-Ttnoded-Job").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("chat", (await node.GetAsync(jobId)).Kind);
    }

    [Fact]
    public async Task Streamed_completion_is_sse_chunks_then_usage_then_done()
    {
        await using var node = new InProcessNode();
        using var resp = await node.Http.PostAsync("v1/completions",
            Json($$$"""{"model":"{{{M}}}","prompt":"Once upon a time","max_tokens":24,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}"""));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("text/event-stream", resp.Content.Headers.ContentType?.MediaType);
        var data = DataLines(await resp.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", data[^1]);
        var chunks = data[..^1].Select(d => JsonDocument.Parse(d).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());

        var usageChunk = chunks[^1];
        Assert.Empty(usageChunk.GetProperty("choices").EnumerateArray());
        var usage = usageChunk.GetProperty("usage");
        var finishChunk = chunks[^2].GetProperty("choices")[0];
        Assert.Contains(finishChunk.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        var textChunks = chunks[..^2];
        Assert.All(textChunks, c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        Assert.All(chunks[..^1], c => Assert.False(c.TryGetProperty("usage", out _)));
        string text = string.Concat(textChunks.Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal(Greedy("Once upon a time", 24), text);
        Assert.True(usage.GetProperty("completion_tokens").GetInt32() >= textChunks.Count);
    }

    [Fact]
    public async Task Streamed_chat_starts_with_the_role_and_ends_with_finish_reason()
    {
        await using var node = new InProcessNode();
        using var resp = await node.Http.PostAsync("v1/chat/completions",
            Json($$"""{"model":"{{M}}","messages":[{"role":"user","content":"Hi"}],"max_tokens":16,"ignore_eos":true,"stream":true}"""));
        var data = DataLines(await resp.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", data[^1]);
        var chunks = data[..^1].Select(d => JsonDocument.Parse(d).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        var first = chunks[0].GetProperty("choices")[0].GetProperty("delta");
        Assert.Equal("assistant", first.GetProperty("role").GetString());
        var last = chunks[^1].GetProperty("choices")[0];
        Assert.Equal("length", last.GetProperty("finish_reason").GetString());
        Assert.Empty(last.GetProperty("delta").EnumerateObject());
        Assert.All(chunks[1..^1], c => Assert.False(c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("role", out _)));
    }

    [Fact]
    public async Task Ignore_eos_makes_the_output_length_exact()
    {
        await using var node = new InProcessNode();
        var (status, body, _) = await PostAsync(node, "v1/completions", $$"""{"model":"{{M}}","prompt":"The end.","max_tokens":300,"ignore_eos":true}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(300, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Chat_logprobs_report_each_token_with_its_alternatives()
    {
        await using var node = new InProcessNode();
        var (status, body, _) = await PostAsync(node, "v1/chat/completions",
            $$"""{"model":"{{M}}","messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":12,"temperature":0,"logprobs":true,"top_logprobs":3}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var choice = body.GetProperty("choices")[0];
        var content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), content.Count + (choice.GetProperty("finish_reason").GetString() == "stop" ? 1 : 0));
        foreach (var t in content)
        {
            float lp = t.GetProperty("logprob").GetSingle();
            Assert.True(lp <= 0 && float.IsFinite(lp));
            var top = t.GetProperty("top_logprobs").EnumerateArray().ToList();
            Assert.Equal(3, top.Count);
            // greedy: the chosen token is the most likely one
            Assert.Equal(top[0].GetProperty("logprob").GetSingle(), lp, 4);
            Assert.Equal(top[0].GetProperty("token").GetString(), t.GetProperty("token").GetString());
            Assert.True(top[0].GetProperty("logprob").GetSingle() >= top[1].GetProperty("logprob").GetSingle());
            string fromBytes = Encoding.UTF8.GetString(t.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()).ToArray());
            Assert.Equal(t.GetProperty("token").GetString(), fromBytes);
        }
        Assert.Equal(choice.GetProperty("message").GetProperty("content").GetString(), string.Concat(content.Select(t => t.GetProperty("token").GetString())).TrimStart());
    }

    [Fact]
    public async Task Streamed_completion_logprobs_ride_on_the_chunks_of_their_text()
    {
        await using var node = new InProcessNode();
        using var resp = await node.Http.PostAsync("v1/completions",
            Json($$$"""{"model":"{{{M}}}","prompt":"Once upon a time","max_tokens":16,"temperature":0,"ignore_eos":true,"stream":true,"logprobs":2}"""));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var data = DataLines(await resp.Content.ReadAsStringAsync());
        var choices = data[..^1].Select(d => JsonDocument.Parse(d).RootElement.GetProperty("choices")[0]).ToList();
        var tokens = new List<string>();
        var offsets = new List<int>();
        foreach (var c in choices)
        {
            if (c.GetProperty("logprobs").ValueKind == JsonValueKind.Null) continue;
            var lp = c.GetProperty("logprobs");
            tokens.AddRange(lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!));
            offsets.AddRange(lp.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()));
            Assert.All(lp.GetProperty("token_logprobs").EnumerateArray(), v => Assert.True(v.GetSingle() <= 0));
            Assert.All(lp.GetProperty("top_logprobs").EnumerateArray(), d => Assert.InRange(d.EnumerateObject().Count(), 1, 2));
        }
        Assert.Equal(16, tokens.Count);
        string text = string.Concat(choices.Select(c => c.GetProperty("text").GetString()));
        Assert.Equal(text, string.Concat(tokens));
        for (int i = 1; i < offsets.Count; i++) Assert.Equal(offsets[i - 1] + tokens[i - 1].Length, offsets[i]);
    }

    [Theory]
    [InlineData("v1/completions", "'prompt':'x','frobnicate':1", "frobnicate", "unknown_parameter")]
    [InlineData("v1/chat/completions", "'messages':[{'role':'user','content':'x'}],'tools':[]", "tools", "unsupported_parameter")]
    [InlineData("v1/chat/completions", "'messages':[{'role':'user','content':'x'}],'top_logprobs':2", "top_logprobs", null)]
    [InlineData("v1/chat/completions", "'messages':[{'role':'user','content':'x'}],'logprobs':true,'top_logprobs':21", "top_logprobs", null)]
    [InlineData("v1/completions", "'prompt':'x','logprobs':21", "logprobs", null)]
    [InlineData("v1/completions", "'prompt':'x','best_of':2", "best_of", "unsupported_parameter")]
    [InlineData("v1/completions", "'prompt':'x','stream':true,'stream_options':{'include_usage':true,'extra':1}", "stream_options.extra", "unknown_parameter")]
    [InlineData("v1/completions", "'prompt':'x','n':2", "n", null)]
    [InlineData("v1/completions", "'temperature':'hot','prompt':'x'", "temperature", null)]
    [InlineData("v1/completions", "'prompt':'x','temperature':3", "temperature", null)]
    [InlineData("v1/completions", "'prompt':'x','stop':[1]", "stop", null)]
    [InlineData("v1/completions", "'prompt':['a','b']", "prompt", null)]
    [InlineData("v1/completions", "'prompt':'x','max_tokens':0", "max_tokens", null)]
    [InlineData("v1/completions", "'prompt':'x','priority':101", "priority", null)]
    [InlineData("v1/completions", "'prompt':'x','stream_options':{'include_usage':true}", "stream_options", null)]
    [InlineData("v1/chat/completions", "'messages':[{'role':'tool','content':'x'}]", "messages[0].role", null)]
    [InlineData("v1/chat/completions", "'messages':[]", "messages", null)]
    public async Task Bad_requests_get_400_in_openai_error_shape_naming_the_parameter(string path, string fields, string param, string? code)
    {
        await using var node = new InProcessNode();
        var (status, body, _) = await PostAsync(node, path, $$"""{"model":"{{M}}",{{fields.Replace('\'', '"')}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(param.Split('[')[0], error.GetProperty("message").GetString());
        if (code is null) Assert.True(error.TryGetProperty("code", out _));
        else Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Empty((await node.Http.GetStringAsync("api/v1/jobs")).Split("\"id\"").Skip(1)); // nothing was queued
    }

    [Fact]
    public async Task Unknown_model_is_404_model_not_found_and_bad_json_is_400()
    {
        await using var node = new InProcessNode();
        var (status, body, _) = await PostAsync(node, "v1/completions", """{"model":"llama-9000","prompt":"x"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model_not_found", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("model", body.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains(M, body.GetProperty("error").GetProperty("message").GetString());

        (status, body, _) = await PostAsync(node, "v1/chat/completions", """{"model":""" + "\"" + M + "\"");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", body.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Versioned_and_bare_model_names_both_resolve()
    {
        await using var node = new InProcessNode();
        var (status, body, _) = await PostAsync(node, "v1/completions", $$"""{"model":"{{M}}:1","prompt":"Once","max_tokens":2}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal($"{M}:1", body.GetProperty("model").GetString());
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_cancels_its_job()
    {
        await using var node = new InProcessNode();
        var resp = await node.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = Json($$"""{"model":"{{M}}","prompt":"Once upon a time","max_tokens":100000,"ignore_eos":true,"stream":true}"""),
        }, HttpCompletionOption.ResponseHeadersRead);
        long jobId = long.Parse(resp.Headers.GetValues("X-Ttnoded-Job").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var stream = await resp.Content.ReadAsStreamAsync();
        var buf = new byte[256];
        Assert.True(await stream.ReadAsync(buf) > 0); // tokens are flowing
        Assert.Equal(JobStates.Running, (await node.GetAsync(jobId)).State);
        resp.Dispose(); // the connection closes

        var done = await node.WaitFinishedAsync(jobId, TimeSpan.FromSeconds(30));
        Assert.Equal(JobStates.Cancelled, done.State);
        Assert.True(done.TokensOut < 100_000);
    }

    [Fact]
    public async Task A_client_that_disconnects_while_waiting_cancels_its_job()
    {
        await using var node = new InProcessNode();
        using var cts = new CancellationTokenSource();
        var pending = node.Http.PostAsync("v1/completions",
            Json($$"""{"model":"{{M}}","prompt":"Once upon a time","max_tokens":100000,"ignore_eos":true}"""), cts.Token);
        JobInfo? job = null;
        for (int i = 0; i < 500 && job is null; i++)
        {
            using var doc = JsonDocument.Parse(await node.Http.GetStringAsync("api/v1/queue"));
            var jobs = doc.RootElement.GetProperty("jobs");
            if (jobs.GetArrayLength() > 0 && jobs[0].GetProperty("state").GetString() == JobStates.Running)
                job = JsonSerializer.Deserialize(jobs[0].GetRawText(), JobsJsonContext.Default.JobInfo);
            else await Task.Delay(10);
        }
        Assert.NotNull(job);
        Assert.Equal("completion", job.Kind);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        var done = await node.WaitFinishedAsync(job.Id, TimeSpan.FromSeconds(30));
        Assert.Equal(JobStates.Cancelled, done.State);
    }
}
