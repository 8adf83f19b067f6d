using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TtProtocol.Models;
using Ttnoded.Models;
using Ttnoded.Store;

namespace Ttnoded.Api;

/// <summary>
/// /api/v1/models: import (bundle streamed as the request body), list, show, rm, verify, export. Import and rm are
/// admin-only and audited; reads are open to every socket user.
/// </summary>
public static class ModelEndpoints
{
    /// <param name="users">Jobs and engine pool: removing a model they use is refused (409).</param>
    public static void Map(WebApplication app, ModelStore models, IModelUsers users, StateStore audit)
    {
        app.MapGet("/api/v1/models", () => Guard(() =>
            Results.Json(new ModelListResponse([.. models.List().Select(m => m.Summary)]), ModelApiJsonContext.Default.ModelListResponse)));

        app.MapPost("/api/v1/models/import", (HttpContext http, CancellationToken ct) => GuardAsync(async () =>
        {
            var caller = CallerContext.Of(http);
            if (!caller.IsAdmin) return ApiResults.Forbidden("importing models needs admin rights (root or the admin group)");
            if (http.Request.ContentType is not "application/octet-stream")
                return ApiResults.Error(StatusCodes.Status415UnsupportedMediaType, "send the bundle as application/octet-stream");
            try
            {
                var r = await models.ImportAsync(http.Request.Body, caller.UserName, ct).ConfigureAwait(false);
                audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.import", $"model/{r.Model.Name}:{r.Model.Version}", "ok",
                    $"{r.Model.Signature} {r.Model.SignerKeyId} {r.BytesRead} bytes {r.Seconds:0.0}s");
                return Results.Json(new ModelImportResponse(r.Model, r.Warnings, r.BytesRead, r.Seconds),
                    ModelApiJsonContext.Default.ModelImportResponse, statusCode: StatusCodes.Status201Created);
            }
            catch (ModelStoreException e)
            {
                audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.import", "model", "rejected", e.Message);
                throw;
            }
        }));

        app.MapGet("/api/v1/models/{name}", (string name) => Guard(() =>
        {
            var m = models.Get(name);
            using var doc = JsonDocument.Parse(m.ManifestBytes);
            return Results.Json(new ModelDetail(m.Summary, models.Files(m), doc.RootElement.Clone()), ModelApiJsonContext.Default.ModelDetail);
        }));

        app.MapDelete("/api/v1/models/{name}", (HttpContext http, string name, CancellationToken ct) => GuardAsync(async () =>
        {
            var caller = CallerContext.Of(http);
            if (!caller.IsAdmin) return ApiResults.Forbidden("removing models needs admin rights (root or the admin group)");
            ModelRemoveResponse r;
            try { r = await models.RemoveAsync(name, users, ct).ConfigureAwait(false); }
            catch (ModelStoreException e) when (e.Status == StatusCodes.Status409Conflict)
            {
                audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.remove", $"model/{name}", "rejected", e.Message);
                throw;
            }
            audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.remove", $"model/{r.Name}:{r.Version}", "ok", $"{r.BlobsRemoved} blobs removed");
            return Results.Json(r, ModelApiJsonContext.Default.ModelRemoveResponse);
        }));

        app.MapPost("/api/v1/models/{name}/verify", (string name, CancellationToken ct) => GuardAsync(async () =>
            Results.Json(await models.VerifyAsync(name, ct).ConfigureAwait(false), ModelApiJsonContext.Default.ModelVerifyResponse)));

        app.MapGet("/api/v1/models/{name}/export", (HttpContext http, string name, CancellationToken ct) => GuardAsync(async () =>
        {
            var m = models.Get(name);
            http.Response.ContentType = "application/octet-stream";
            http.Response.ContentLength = ModelStore.ExportLength(m);
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"{m.Summary.Name}-{m.Summary.Version}.ttmodel\"";
            // Once bytes are on the wire a failure can only abort the response: the client sees a short body.
            await models.ExportAsync(m, http.Response.Body, ct).ConfigureAwait(false);
            return Results.Empty;
        }));
    }

    private static IResult Guard(Func<IResult> body)
    {
        try { return body(); }
        catch (ModelStoreException e) { return ApiResults.Error(e.Status, e.Message); }
    }

    private static async Task<IResult> GuardAsync(Func<Task<IResult>> body)
    {
        try { return await body().ConfigureAwait(false); }
        catch (ModelStoreException e) { return ApiResults.Error(e.Status, e.Message); }
    }
}
