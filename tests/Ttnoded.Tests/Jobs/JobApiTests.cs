using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TtEngine.Model;
using TtProtocol.Jobs;

namespace Ttnoded.Tests.Jobs;

/// <summary>The native job API end to end: real socket, real store, real engine on stories260K.</summary>
public sealed class JobApiTests
{
    private static JobSubmitRequest Greedy(string prompt, int maxTokens) => new()
    {
        Model = InProcessNode.Model, Prompt = prompt, MaxTokens = maxTokens, Sampling = new SamplingOptions { Temperature = 0 },
    };

    [Fact]
    public async Task A_submitted_job_runs_to_the_same_text_the_engine_produces()
    {
        await using var node = new InProcessNode();
        var info = await node.SubmitAsync(Greedy("Once upon a time", 40));
        Assert.True(info.Id > 0);
        Assert.Equal(JobStates.Queued, info.State);
        var done = await node.WaitFinishedAsync(info.Id);
        Assert.Equal(JobStates.Succeeded, done.State);

        using var model = LlamaModel.Load(InProcessNode.GgufPath, new EngineOptions { Threads = 1 });
        var expected = model.Generate("Once upon a time", new GenerationOptions { MaxTokens = 40, Sampling = TtEngine.Sampling.SamplingOptions.Greedy });
        Assert.Equal(expected.Text, done.Output);
        Assert.Equal(expected.PromptTokens, done.TokensIn);
        Assert.Equal(expected.GeneratedTokens, done.TokensOut);
        Assert.NotNull(done.TtftMs);
        Assert.NotNull(done.TpotMs);
        Assert.NotNull(done.StartedAt);
        Assert.NotNull(done.FinishedAt);
    }

    [Fact]
    public async Task Events_stream_gives_a_late_follower_everything_then_the_end()
    {
        await using var node = new InProcessNode();
        var info = await node.SubmitAsync(Greedy("Once upon a time", 60));
        await Task.Delay(50); // let it produce something before we connect
        using var resp = await node.Http.GetAsync($"api/v1/jobs/{info.Id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", resp.Content.Headers.ContentType?.MediaType);
        string sse = await resp.Content.ReadAsStringAsync();
        var events = sse.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal))
            .Select(l => JsonSerializer.Deserialize(l[6..], JobsJsonContext.Default.JobEvent)!).ToList();
        string text = string.Concat(events.Where(e => e.Type == "token").Select(e => e.Text));
        var final = await node.GetAsync(info.Id);
        Assert.Equal(final.Output, text);
        Assert.Equal(JobStates.Succeeded, events.Last().State);
        Assert.Contains(events, e => e.Type == "state" && e.State == JobStates.Running);
    }

    [Fact]
    public async Task Events_of_a_finished_job_replay_from_the_store()
    {
        await using var node = new InProcessNode();
        var info = await node.SubmitAsync(Greedy("Once upon a time", 10));
        var done = await node.WaitFinishedAsync(info.Id);
        string sse = await node.Http.GetStringAsync($"api/v1/jobs/{info.Id}/events");
        Assert.Contains("\"state\":\"succeeded\"", sse);
    }

    [Fact]
    public async Task Cancelling_a_running_job_stops_it_within_a_step()
    {
        await using var node = new InProcessNode();
        var info = await node.SubmitAsync(new JobSubmitRequest { Model = InProcessNode.Model, Prompt = "Once", MaxTokens = 100_000 });
        for (int i = 0; i < 200 && (await node.GetAsync(info.Id)).State != JobStates.Running; i++) await Task.Delay(10);
        var resp = await node.Http.DeleteAsync($"api/v1/jobs/{info.Id}");
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var done = await node.WaitFinishedAsync(info.Id, TimeSpan.FromSeconds(10));
        Assert.Equal(JobStates.Cancelled, done.State);
        Assert.Equal("cancelled by its owner", done.Reason);
        Assert.True(done.TokensOut < 2048);
        Assert.Equal(HttpStatusCode.Conflict, (await node.Http.DeleteAsync($"api/v1/jobs/{info.Id}")).StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_queued_job_never_runs_it()
    {
        await using var node = new InProcessNode(c => c.Jobs.MaxRunning = 1);
        var blocker = await node.SubmitAsync(new JobSubmitRequest { Model = InProcessNode.Model, Prompt = "Once", MaxTokens = 100_000 });
        var queued = await node.SubmitAsync(Greedy("Once upon a time", 5));
        Assert.Equal(JobStates.Queued, (await node.GetAsync(queued.Id)).State);
        await node.Http.DeleteAsync($"api/v1/jobs/{queued.Id}");
        var q = await node.GetAsync(queued.Id);
        Assert.Equal(JobStates.Cancelled, q.State);
        Assert.Null(q.StartedAt);
        await node.Http.DeleteAsync($"api/v1/jobs/{blocker.Id}");
        await node.WaitFinishedAsync(blocker.Id);
    }

    [Fact]
    public async Task Past_the_queue_bound_submissions_get_429_with_the_reason()
    {
        await using var node = new InProcessNode(c => { c.Jobs.MaxRunning = 1; c.Jobs.MaxQueuedPerUser = 2; });
        var running = await node.SubmitAsync(new JobSubmitRequest { Model = InProcessNode.Model, Prompt = "Once", MaxTokens = 100_000 });
        for (int i = 0; i < 200 && (await node.GetAsync(running.Id)).State != JobStates.Running; i++) await Task.Delay(10);
        await node.SubmitAsync(Greedy("a", 5));
        await node.SubmitAsync(Greedy("b", 5));
        var resp = await node.Http.PostAsJsonAsync("api/v1/jobs", Greedy("c", 5), JobsJsonContext.Default.JobSubmitRequest);
        Assert.Equal((HttpStatusCode)429, resp.StatusCode);
        Assert.Contains("per-user limit", await resp.Content.ReadAsStringAsync());
        await node.Http.DeleteAsync($"api/v1/jobs/{running.Id}");
    }

    [Theory]
    [InlineData("""{"model":"nope","prompt":"x"}""", "no model 'nope'")]
    [InlineData("""{"model":"stories260k"}""", "exactly one of prompt or messages")]
    [InlineData("""{"model":"stories260k","prompt":"x","priority":101}""", "priority must be 0..100")]
    [InlineData("""{"model":"stories260k","prompt":"x","maxTokens":"many"}""", "invalid JSON at maxTokens")]
    [InlineData("""{"model":"stories260k","messages":[{"role":"robot","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"stories260k","prompt":"x","sampling":{"topP":0}}""", "topP must be in (0, 1]")]
    [InlineData("""not json""", "invalid JSON")]
    public async Task Bad_submissions_get_one_line_naming_the_field(string body, string expected)
    {
        await using var node = new InProcessNode();
        var resp = await node.Http.PostAsync("api/v1/jobs", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.True((int)resp.StatusCode is 400 or 404, $"status {(int)resp.StatusCode}");
        var error = JsonSerializer.Deserialize(await resp.Content.ReadAsStringAsync(), TtProtocol.ApiJsonContext.Default.ErrorResponse)!;
        Assert.Contains(expected, error.Error);
        Assert.DoesNotContain('\n', error.Error);
        Assert.Empty((await node.Http.GetFromJsonAsync("api/v1/jobs", JobsJsonContext.Default.JobList))!.Jobs);
    }

    [Fact]
    public async Task Every_state_change_is_in_the_audit_log()
    {
        await using var node = new InProcessNode();
        var ok = await node.SubmitAsync(Greedy("Once", 3));
        await node.Http.PostAsync("api/v1/jobs", new StringContent("""{"model":"nope","prompt":"x"}""", System.Text.Encoding.UTF8, "application/json"));
        await node.WaitFinishedAsync(ok.Id);
        await node.Http.DeleteAsync($"api/v1/jobs/{ok.Id}");
        var audit = (await node.Http.GetFromJsonAsync("api/v1/audit", JobsJsonContext.Default.AuditList))!;
        Assert.Contains(audit.Entries, e => e.Action == "job.submit" && e.Target == $"job/{ok.Id}" && e.Result == "ok");
        Assert.Contains(audit.Entries, e => e.Action == "job.submit" && e.Result == "rejected" && e.Detail.Contains("nope"));
    }

    [Fact]
    public async Task Chat_jobs_use_the_models_chat_format()
    {
        await using var node = new InProcessNode();
        var info = await node.SubmitAsync(new JobSubmitRequest
        {
            Model = InProcessNode.Model, Messages = [new ChatMessage("user", "Tell me a story")], MaxTokens = 8,
            Sampling = new SamplingOptions { Temperature = 0 },
        });
        var done = await node.WaitFinishedAsync(info.Id);
        Assert.Equal(JobStates.Succeeded, done.State);
        Assert.True(done.TokensIn > 3);
    }

    [Fact]
    public async Task A_newcomer_joins_the_running_batch_instead_of_waiting_for_it()
    {
        await using var node = new InProcessNode(c => c.Jobs.MaxRunning = 2);
        var longJob = await node.SubmitAsync(new JobSubmitRequest
        {
            Model = InProcessNode.Model, Prompt = "Once", MaxTokens = 1500, Sampling = new SamplingOptions { Temperature = 0, IgnoreEos = true },
        });
        for (int i = 0; i < 500 && (await node.GetAsync(longJob.Id)).State != JobStates.Running; i++) await Task.Delay(10);
        var shortJob = await node.SubmitAsync(Greedy("Once upon a time", 5));
        var shortDone = await node.WaitFinishedAsync(shortJob.Id);
        var longNow = await node.GetAsync(longJob.Id);
        Assert.Equal(JobStates.Succeeded, shortDone.State);
        Assert.Equal(JobStates.Running, longNow.State); // the short job finished while the long one was still generating
        var longDone = await node.WaitFinishedAsync(longJob.Id);
        Assert.Equal(1500, longDone.TokensOut);
        Assert.True(shortDone.FinishedAt < longDone.FinishedAt);
    }

    [Fact]
    public async Task Past_the_per_model_limit_a_request_waits_in_the_queue_until_a_slot_frees()
    {
        await using var node = new InProcessNode(c => { c.Jobs.MaxRunning = 4; c.Jobs.MaxRunningPerModel = 1; });
        var first = await node.SubmitAsync(new JobSubmitRequest
        {
            Model = InProcessNode.Model, Prompt = "Once", MaxTokens = 800, Sampling = new SamplingOptions { Temperature = 0, IgnoreEos = true },
        });
        for (int i = 0; i < 500 && (await node.GetAsync(first.Id)).State != JobStates.Running; i++) await Task.Delay(10);
        // "name:version" is the same model as "name": it must wait too.
        var second = await node.SubmitAsync(Greedy("Once upon a time", 5) with { Model = InProcessNode.Model + ":1" });
        await Task.Delay(300);
        Assert.Equal(JobStates.Running, (await node.GetAsync(first.Id)).State);
        Assert.Equal(JobStates.Queued, (await node.GetAsync(second.Id)).State);
        var firstDone = await node.WaitFinishedAsync(first.Id);
        var secondDone = await node.WaitFinishedAsync(second.Id);
        Assert.Equal(JobStates.Succeeded, secondDone.State);
        Assert.True(secondDone.StartedAt >= firstDone.FinishedAt);
    }

    [Fact]
    public async Task Jobs_decoded_together_in_one_batch_give_the_same_text_as_alone()
    {
        await using var node = new InProcessNode(c => c.Jobs.MaxRunning = 3);
        string[] prompts = ["Once upon a time", "The little dog", "Lily and Ben"];
        var jobs = new List<TtProtocol.Jobs.JobInfo>();
        foreach (var p in prompts) jobs.Add(await node.SubmitAsync(Greedy(p, 60)));
        using var model = LlamaModel.Load(InProcessNode.GgufPath, new EngineOptions { Threads = 1 });
        for (int i = 0; i < prompts.Length; i++)
        {
            var done = await node.WaitFinishedAsync(jobs[i].Id);
            var alone = model.Generate(prompts[i], new GenerationOptions { MaxTokens = 60, Sampling = TtEngine.Sampling.SamplingOptions.Greedy });
            Assert.Equal(alone.Text, done.Output);
        }
    }

    [Fact]
    public async Task Models_load_and_unload_on_request()
    {
        await using var node = new InProcessNode();
        var load = await node.Http.PostAsync($"api/v1/models/{InProcessNode.Model}/load", null);
        Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        var unload = await node.Http.PostAsync($"api/v1/models/{InProcessNode.Model}/unload", null);
        Assert.Contains("\"ready\":true", await unload.Content.ReadAsStringAsync());
        var again = await node.Http.PostAsync($"api/v1/models/{InProcessNode.Model}/unload", null);
        Assert.Contains("\"ready\":false", await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await node.Http.PostAsync("api/v1/models/nope/load", null)).StatusCode);
    }
}
