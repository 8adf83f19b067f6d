using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TtProtocol;

namespace Ttnoded.Api;

/// <summary>/api/v1/health, /api/v1/version and /api/v1/node: what every client asks first.</summary>
public static class CoreEndpoints
{
    public static void Map(WebApplication app, NodeState state, NodePaths paths)
    {
        app.MapGet("/api/v1/health", () =>
        {
            var body = new HealthResponse(state.Ready ? "ok" : "starting", state.Ready, state.Status);
            return Results.Json(body, ApiJsonContext.Default.HealthResponse,
                statusCode: state.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });

        app.MapGet("/api/v1/version", () => Results.Json(
            new VersionResponse(BuildInfo.Version, ApiInfo.Version, Environment.Version.ToString(), !RuntimeFeature.IsDynamicCodeSupported),
            ApiJsonContext.Default.VersionResponse));

        app.MapGet("/api/v1/node", (HttpContext http) =>
        {
            var c = CallerContext.Of(http);
            var body = new NodeResponse(Environment.MachineName, BuildInfo.Version, state.Ready ? "ready" : "starting", state.Status,
                state.StartedAt, (DateTimeOffset.UtcNow - state.StartedAt).TotalSeconds, paths.Sysroot, paths.StateDir,
                new CallerInfo(c.Pid, c.Uid, c.Gid, c.IsAdmin));
            return Results.Json(body, ApiJsonContext.Default.NodeResponse);
        });
    }
}
