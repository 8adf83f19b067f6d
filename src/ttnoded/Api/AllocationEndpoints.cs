using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TtProtocol.Jobs;
using Ttnoded.Allocations;
using Ttnoded.Store;

namespace Ttnoded.Api;

/// <summary>/api/v1/allocations (admin only for changes) and /api/v1/audit.</summary>
public static class AllocationEndpoints
{
    public static void Map(WebApplication app, AllocationService allocations, StateStore store)
    {
        app.MapPost("/api/v1/allocations", (HttpContext http, CancellationToken ct) => EndpointGuard.RunAsync(async () =>
        {
            var caller = CallerContext.Of(http);
            var req = await JsonBody.ReadAsync(http.Request, JobsJsonContext.Default.AllocationRequest, ct).ConfigureAwait(false);
            try
            {
                var a = allocations.Create(caller, req);
                store.Audit(caller.Uid, caller.UserName, caller.Pid, "allocation.create", $"allocation/{a.Id}", "ok", string.Join(',', a.Cards));
                return Results.Json(a, JobsJsonContext.Default.AllocationInfo, statusCode: StatusCodes.Status201Created);
            }
            catch (ApiException e)
            {
                store.Audit(caller.Uid, caller.UserName, caller.Pid, "allocation.create", "allocation", e.Status == 403 ? "denied" : "rejected", e.Message);
                throw;
            }
        }));

        app.MapGet("/api/v1/allocations", (HttpContext http) => EndpointGuard.Run(() =>
            Results.Json(new AllocationList([.. allocations.List(CallerContext.Of(http))]), JobsJsonContext.Default.AllocationList)));

        app.MapGet("/api/v1/allocations/{id}", (HttpContext http, string id) => EndpointGuard.Run(() =>
        {
            var caller = CallerContext.Of(http);
            var a = allocations.Get(id);
            if (a is null || !allocations.MayUse(caller, a)) throw ApiException.NotFound($"no allocation '{id}'");
            return Results.Json(a, JobsJsonContext.Default.AllocationInfo);
        }));

        app.MapDelete("/api/v1/allocations/{id}", (HttpContext http, string id) => EndpointGuard.Run(() =>
        {
            var caller = CallerContext.Of(http);
            try
            {
                allocations.Delete(caller, id);
                store.Audit(caller.Uid, caller.UserName, caller.Pid, "allocation.delete", $"allocation/{id}", "ok");
                return Results.NoContent();
            }
            catch (ApiException e)
            {
                store.Audit(caller.Uid, caller.UserName, caller.Pid, "allocation.delete", $"allocation/{id}", e.Status == 403 ? "denied" : "rejected", e.Message);
                throw;
            }
        }));

        app.MapGet("/api/v1/audit", (HttpContext http, int? limit) => EndpointGuard.Run(() =>
        {
            var caller = CallerContext.Of(http);
            var entries = store.ReadAudit(caller.IsAdmin ? null : caller.Uid, Math.Clamp(limit ?? 100, 1, 10_000));
            return Results.Json(new AuditList([.. entries]), JobsJsonContext.Default.AuditList);
        }));
    }
}
