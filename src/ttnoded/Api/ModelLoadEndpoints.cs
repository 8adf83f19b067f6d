using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TtProtocol;
using Ttnoded.Inference;
using Ttnoded.Store;

namespace Ttnoded.Api;

/// <summary>Explicit model residency: POST /api/v1/models/{name}/load and /unload (admin), for `ttctl model load|unload`.</summary>
public static class ModelLoadEndpoints
{
    public static void Map(WebApplication app, ModelPool pool, StateStore audit)
    {
        app.MapPost("/api/v1/models/{name}/load", (HttpContext http, string name) => EndpointGuard.RunAsync(async () =>
        {
            var caller = Admin(http, "load");
            try { await Task.Run(() => pool.Load(name)).ConfigureAwait(false); }
            catch (InvalidOperationException e) { throw ApiException.NotFound(e.Message); }
            audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.load", $"model/{name}", "ok");
            return Results.Json(new HealthResponse("loaded", true, $"{name} is loaded and stays loaded until unloaded"), ApiJsonContext.Default.HealthResponse);
        }));

        app.MapPost("/api/v1/models/{name}/unload", (HttpContext http, string name) => EndpointGuard.Run(() =>
        {
            var caller = Admin(http, "unload");
            bool now = pool.Unload(name);
            audit.Audit(caller.Uid, caller.UserName, caller.Pid, "model.unload", $"model/{name}", "ok", now ? "unloaded" : "in use or not loaded");
            return Results.Json(new HealthResponse(now ? "unloaded" : "pending", now,
                now ? $"{name} unloaded" : $"{name} is not loaded, or in use: it unloads when its jobs finish"), ApiJsonContext.Default.HealthResponse);
        }));
    }

    private static Security.Caller Admin(HttpContext http, string verb)
    {
        var caller = CallerContext.Of(http);
        if (!caller.IsAdmin) throw ApiException.Forbidden($"only root and the admin group may {verb} models");
        return caller;
    }
}
