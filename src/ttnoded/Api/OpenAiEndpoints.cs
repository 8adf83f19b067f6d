using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TtProtocol.Jobs;
using Ttnoded.Inference;
using Ttnoded.Jobs;
using Ttnoded.OpenAi;
using Ttnoded.Security;

namespace Ttnoded.Api;

/// <summary>
/// The OpenAI-compatible API under /v1 on the daemon's socket: /v1/models, /v1/completions, /v1/chat/completions.
/// Each completion is a job (kind "completion" or "chat") through <see cref="JobService.Submit"/>: same queue, fairness,
/// permissions and audit as /api/v1/jobs. Text streams from the job's feed; a client that goes away cancels its job.
/// </summary>
public static class OpenAiEndpoints
{
    private const string Done = "data: [DONE]\n\n";

    public static void Map(WebApplication app, JobService jobs, JobFeeds feeds, IModelCatalog catalog)
    {
        app.MapGet("/v1/models", () =>
        {
            var cards = catalog.Names().Select(n => new ModelCard(n, "model", (catalog.Find(n)?.RegisteredAt ?? DateTimeOffset.UnixEpoch).ToUnixTimeSeconds(), "ttnoded")
                { MaxModelLen = ModelContext.Length(catalog, n) });
            return Results.Json(new ModelList("list", [.. cards]), OpenAiJsonContext.Default.ModelList);
        });

        app.MapPost("/v1/completions", (HttpContext http) => ServeAsync(http, jobs, feeds, catalog, chat: false));
        app.MapPost("/v1/chat/completions", (HttpContext http) => ServeAsync(http, jobs, feeds, catalog, chat: true));
    }

    private sealed record Accepted(JobSubmitRequest Job, bool Stream, bool IncludeUsage)
    {
        public bool Logprobs => Job.Sampling?.Logprobs is not null;
    }

    private static async Task ServeAsync(HttpContext http, JobService jobs, JobFeeds feeds, IModelCatalog catalog, bool chat)
    {
        var caller = CallerContext.Of(http);
        var ct = http.RequestAborted;
        JobInfo info;
        Accepted req;
        try
        {
            byte[] body = await OpenAiRequests.ReadBodyAsync(http.Request, ct).ConfigureAwait(false);
            req = chat ? Accept(OpenAiRequests.Parse(body, OpenAiRequests.ChatKeys, OpenAiJsonContext.Default.ChatCompletionRequest))
                       : Accept(OpenAiRequests.Parse(body, OpenAiRequests.CompletionKeys, OpenAiJsonContext.Default.CompletionRequest));
            if (catalog.Find(req.Job.Model) is null) throw OpenAiException.ModelNotFound(req.Job.Model, catalog.Names());
            try { info = jobs.Submit(caller, req.Job, chat ? "chat" : "completion"); }
            catch (ApiException e) { throw OpenAiException.From(e); }
        }
        catch (OpenAiException e)
        {
            await WriteErrorAsync(http, e).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return; // gone before a job existed
        }

        var run = new Run(info.Id, chat ? "chatcmpl-" : "cmpl-", info.SubmittedAt.ToUnixTimeSeconds(), req.Job.Model, chat);
        http.Response.Headers["X-Ttnoded-Job"] = info.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        bool finished = false;
        try
        {
            var logprobs = req.Logprobs ? new LogprobCollector() : null;
            if (req.Stream) finished = await StreamAsync(http, jobs, feeds, caller, run, req.IncludeUsage, logprobs, ct).ConfigureAwait(false);
            else finished = await RespondAsync(http, jobs, feeds, caller, run, logprobs, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && ct.IsCancellationRequested)
        {
            // The client went away (RequestAborted): its job must not run on for nobody.
        }
        finally
        {
            if (!finished) CancelQuietly(jobs, caller, info.Id);
        }
    }

    private static Accepted Accept(CompletionRequest r)
    {
        CheckStreamOptions(r.Stream, r.StreamOptions);
        return new(OpenAiRequests.ToJob(r), r.Stream == true, r.StreamOptions?.IncludeUsage == true);
    }

    private static Accepted Accept(ChatCompletionRequest r)
    {
        CheckStreamOptions(r.Stream, r.StreamOptions);
        return new(OpenAiRequests.ToJob(r), r.Stream == true, r.StreamOptions?.IncludeUsage == true);
    }

    private static void CheckStreamOptions(bool? stream, StreamOptions? options)
    {
        if (options is not null && stream != true)
            throw OpenAiException.BadRequest("'stream_options' is only allowed when 'stream' is true", "stream_options");
    }

    /// <summary>What one request's answer is named and stamped with.</summary>
    private sealed record Run(long JobId, string IdPrefix, long Created, string Model, bool Chat)
    {
        public string Id => IdPrefix + JobId.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Waits for the job to end, then answers with the whole text. True when the job finished.</summary>
    private static async Task<bool> RespondAsync(HttpContext http, JobService jobs, JobFeeds feeds, Caller caller, Run run, LogprobCollector? logprobs, CancellationToken ct)
    {
        await WaitEndAsync(feeds, run.JobId, null, logprobs, ct).ConfigureAwait(false);
        var end = jobs.Get(caller, run.JobId);
        if (end.State != JobStates.Succeeded)
        {
            await WriteErrorAsync(http, JobEndError(end)).ConfigureAwait(false);
            return true;
        }
        var usage = new Usage(end.TokensIn, end.TokensOut, end.TokensIn + end.TokensOut);
        string text = end.Output ?? "";
        IResult result = run.Chat
            ? Results.Json(new ChatCompletionResponse(run.Id, "chat.completion", run.Created, run.Model,
                [new ChatChoice(0, new ChatMessageOut("assistant", text), logprobs?.TakeChat(), end.Reason)], usage), OpenAiJsonContext.Default.ChatCompletionResponse)
            : Results.Json(new CompletionResponse(run.Id, "text_completion", run.Created, run.Model,
                [new CompletionChoice(0, text, logprobs?.TakeCompletion(), end.Reason)], usage), OpenAiJsonContext.Default.CompletionResponse);
        await result.ExecuteAsync(http).ConfigureAwait(false);
        return true;
    }

    /// <summary>Streams chunks as the job produces text, then the finish chunk, usage (if asked) and [DONE].</summary>
    private static async Task<bool> StreamAsync(HttpContext http, JobService jobs, JobFeeds feeds, Caller caller, Run run, bool includeUsage,
        LogprobCollector? logprobs, CancellationToken ct)
    {
        ServerSentEvents.Begin(http.Response);
        await http.Response.Body.FlushAsync(ct).ConfigureAwait(false); // headers now: clients start their TTFT clock on them
        if (run.Chat) await WriteChunkAsync(http, run, new ChatDelta { Role = "assistant", Content = "" }, null, null, ct).ConfigureAwait(false);
        await WaitEndAsync(feeds, run.JobId, text => WriteChunkAsync(http, run, run.Chat ? new ChatDelta { Content = text } : null, text, logprobs, ct), logprobs, ct).ConfigureAwait(false);
        var end = jobs.Get(caller, run.JobId);
        if (end.State != JobStates.Succeeded)
        {
            var err = JobEndError(end);
            await WriteRawAsync(http, "data: " + JsonSerializer.Serialize(err.ToEnvelope(), OpenAiJsonContext.Default.ErrorEnvelope) + "\n\n" + Done, ct).ConfigureAwait(false);
            return true;
        }
        string json = run.Chat
            ? JsonSerializer.Serialize(new ChatCompletionChunk(run.Id, "chat.completion.chunk", run.Created, run.Model, [new ChatChunkChoice(0, new ChatDelta(), Leftover(logprobs)?.TakeChat(), end.Reason)]), OpenAiJsonContext.Default.ChatCompletionChunk)
            : JsonSerializer.Serialize(new CompletionChunk(run.Id, "text_completion", run.Created, run.Model, [new CompletionChoice(0, "", Leftover(logprobs)?.TakeCompletion(), end.Reason)]), OpenAiJsonContext.Default.CompletionChunk);
        var tail = new System.Text.StringBuilder("data: ").Append(json).Append("\n\n");
        if (includeUsage)
        {
            var usage = new Usage(end.TokensIn, end.TokensOut, end.TokensIn + end.TokensOut);
            string u = run.Chat
                ? JsonSerializer.Serialize(new ChatCompletionChunk(run.Id, "chat.completion.chunk", run.Created, run.Model, []) { Usage = usage }, OpenAiJsonContext.Default.ChatCompletionChunk)
                : JsonSerializer.Serialize(new CompletionChunk(run.Id, "text_completion", run.Created, run.Model, []) { Usage = usage }, OpenAiJsonContext.Default.CompletionChunk);
            tail.Append("data: ").Append(u).Append("\n\n");
        }
        tail.Append(Done);
        await WriteRawAsync(http, tail.ToString(), ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Tokens whose logprobs came without text of their own (held back by a stop string, or end of stream).</summary>
    private static LogprobCollector? Leftover(LogprobCollector? logprobs) => logprobs is { HasPending: true } ? logprobs : null;

    private static Task WriteChunkAsync(HttpContext http, Run run, ChatDelta? delta, string? text, LogprobCollector? logprobs, CancellationToken ct)
    {
        // A chunk carries the logprobs of the tokens that produced its text (requests that asked for them).
        string json = run.Chat
            ? JsonSerializer.Serialize(new ChatCompletionChunk(run.Id, "chat.completion.chunk", run.Created, run.Model, [new ChatChunkChoice(0, delta!, logprobs?.TakeChat(), null)]), OpenAiJsonContext.Default.ChatCompletionChunk)
            : JsonSerializer.Serialize(new CompletionChunk(run.Id, "text_completion", run.Created, run.Model, [new CompletionChoice(0, text ?? "", logprobs?.TakeCompletion(), null)]), OpenAiJsonContext.Default.CompletionChunk);
        return WriteRawAsync(http, "data: " + json + "\n\n", ct);
    }

    private static async Task WriteRawAsync(HttpContext http, string text, CancellationToken ct)
    {
        await http.Response.WriteAsync(text, ct).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Reads the job's feed until its final state, passing generated text to <paramref name="onText"/>.</summary>
    private static async Task WaitEndAsync(JobFeeds feeds, long id, Func<string, Task>? onText, LogprobCollector? logprobs, CancellationToken ct)
    {
        var feed = feeds.TryGet(id);
        if (feed is null) return; // already finished and retired: the store has it all
        await foreach (var e in feed.ReadAllAsync(ct).ConfigureAwait(false))
        {
            if (e.Type == "logprob" && e.Logprob is not null) logprobs?.Add(e.Logprob);
            else if (e.Type == "token" && onText is not null && !string.IsNullOrEmpty(e.Text)) await onText(e.Text).ConfigureAwait(false);
            else if (e.Type == "state" && e.State is not null && JobStates.IsFinished(e.State)) return;
        }
    }

    private static OpenAiException JobEndError(JobInfo end) => end.State == JobStates.Cancelled
        ? new OpenAiException(500, $"job {end.Id} was cancelled: {end.Reason}", null, "job_cancelled")
        : new OpenAiException(500, $"job {end.Id} failed: {end.Reason}", null, "job_failed");

    private static void CancelQuietly(JobService jobs, Caller caller, long id)
    {
        try { jobs.Cancel(caller, id); }
        catch (ApiException) { /* finished meanwhile (409) or gone: nothing to stop */ }
    }

    private static Task WriteErrorAsync(HttpContext http, OpenAiException e) =>
        Results.Json(e.ToEnvelope(), OpenAiJsonContext.Default.ErrorEnvelope, statusCode: e.Status).ExecuteAsync(http);
}
