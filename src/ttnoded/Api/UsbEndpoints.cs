using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TtProtocol.Models;
using TtProtocol.Usb;
using Ttnoded.Models;
using Ttnoded.Store;
using Ttnoded.Usb;

namespace Ttnoded.Api;

/// <summary>
/// /api/v1/usb: the mounted removable drives and the bundles at their top level (open to every socket user), and
/// importing one of those bundles (admin only, audited; only a <c>*.ttmodel</c> directly under a mounted drive's mount
/// point is accepted, never an arbitrary file of the node).
/// </summary>
public static class UsbEndpoints
{
    public static void Map(WebApplication app, UsbService usb, StateStore audit)
    {
        app.MapGet("/api/v1/usb", async (CancellationToken ct) =>
            Results.Json(await usb.ListAsync(ct).ConfigureAwait(false), UsbJsonContext.Default.UsbListResponse));

        app.MapPost("/api/v1/usb/import", async (HttpContext http, CancellationToken ct) =>
        {
            var caller = CallerContext.Of(http);
            if (!caller.IsAdmin) return ApiResults.Forbidden("importing models needs admin rights (root or the admin group)");
            UsbImportRequest? req;
            try { req = await JsonSerializer.DeserializeAsync(http.Request.Body, UsbJsonContext.Default.UsbImportRequest, ct).ConfigureAwait(false); }
            catch (JsonException e) { return ApiResults.BadRequest($"request body is not valid JSON: {e.Message}"); }
            if (req?.Path is null) return ApiResults.BadRequest("'path' is required", "path");
            try
            {
                var r = await usb.ImportAsync(req.Path, caller.UserName, ct).ConfigureAwait(false);
                audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.import", $"model/{r.Model.Name}:{r.Model.Version}", "ok",
                    $"from usb {req.Path}; {r.Model.Signature} {r.Model.SignerKeyId} {r.BytesRead} bytes {r.Seconds:0.0}s");
                return Results.Json(new ModelImportResponse(r.Model, r.Warnings, r.BytesRead, r.Seconds),
                    ModelApiJsonContext.Default.ModelImportResponse, statusCode: StatusCodes.Status201Created);
            }
            catch (UsbException e)
            {
                audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.import", req.Path, "rejected", e.Message);
                return ApiResults.Error(e.Status, e.Message, e.Field);
            }
            catch (ModelStoreException e)
            {
                audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.import", req.Path, "rejected", e.Message);
                return ApiResults.Error(e.Status, e.Message);
            }
            catch (IOException e)
            {
                audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.import", req.Path, "failed", e.Message);
                return ApiResults.Error(StatusCodes.Status500InternalServerError, $"reading {req.Path}: {e.Message}");
            }
        });
    }
}
