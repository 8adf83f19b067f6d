using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TtProtocol.Jobs;
using Ttnoded.Jobs;

namespace Ttnoded.Api;

/// <summary>/api/v1/jobs: submit, list, show, follow (SSE), cancel; /api/v1/queue.</summary>
public static class JobEndpoints
{
    public static void Map(WebApplication app, JobService jobs, JobFeeds feeds)
    {
        app.MapPost("/api/v1/jobs", (HttpContext http, CancellationToken ct) => EndpointGuard.RunAsync(async () =>
        {
            var req = await JsonBody.ReadAsync(http.Request, JobsJsonContext.Default.JobSubmitRequest, ct).ConfigureAwait(false);
            var info = jobs.Submit(CallerContext.Of(http), req);
            return Results.Json(info, JobsJsonContext.Default.JobInfo, statusCode: StatusCodes.Status201Created);
        }));

        app.MapGet("/api/v1/jobs", (HttpContext http, string? state, string? user, string? project, int? limit) => EndpointGuard.Run(() =>
            Results.Json(new JobList(jobs.List(CallerContext.Of(http), state, user, project, limit ?? 1000)), JobsJsonContext.Default.JobList)));

        app.MapGet("/api/v1/queue", (HttpContext http) => EndpointGuard.Run(() =>
            Results.Json(new JobList(jobs.Queue(CallerContext.Of(http))), JobsJsonContext.Default.JobList)));

        app.MapGet("/api/v1/jobs/{id:long}", (HttpContext http, long id) => EndpointGuard.Run(() =>
            Results.Json(jobs.Get(CallerContext.Of(http), id), JobsJsonContext.Default.JobInfo)));

        app.MapDelete("/api/v1/jobs/{id:long}", (HttpContext http, long id) => EndpointGuard.Run(() =>
            Results.Json(jobs.Cancel(CallerContext.Of(http), id), JobsJsonContext.Default.JobInfo)));

        app.MapGet("/api/v1/jobs/{id:long}/events", async (HttpContext http, long id) =>
        {
            JobInfo info;
            try { info = jobs.Get(CallerContext.Of(http), id); }
            catch (ApiException e) { await ApiResults.Error(e.Status, e.Message, e.Field).ExecuteAsync(http).ConfigureAwait(false); return; }
            await FollowAsync(http, info, feeds).ConfigureAwait(false);
        });
    }

    /// <summary>Streams a job's events: the live feed when there is one, else what the store holds of a finished job.</summary>
    private static async Task FollowAsync(HttpContext http, JobInfo info, JobFeeds feeds)
    {
        var ct = http.RequestAborted;
        ServerSentEvents.Begin(http.Response);
        var feed = feeds.TryGet(info.Id);
        try
        {
            if (feed is not null)
            {
                await foreach (var e in feed.ReadAllAsync(ct).ConfigureAwait(false))
                    await ServerSentEvents.WriteAsync(http.Response, e.Type, JsonSerializer.Serialize(e, JobsJsonContext.Default.JobEvent), ct).ConfigureAwait(false);
                return;
            }
            // Finished before anyone followed (or the daemon restarted since): replay from the store.
            if (!string.IsNullOrEmpty(info.Output))
                await ServerSentEvents.WriteAsync(http.Response, "token",
                    JsonSerializer.Serialize(new JobEvent { Type = "token", JobId = info.Id, Index = 0, Text = info.Output }, JobsJsonContext.Default.JobEvent), ct).ConfigureAwait(false);
            await ServerSentEvents.WriteAsync(http.Response, "state",
                JsonSerializer.Serialize(new JobEvent { Type = "state", JobId = info.Id, State = info.State, Reason = info.Reason }, JobsJsonContext.Default.JobEvent), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The follower went away; the job goes on.
        }
    }
}
