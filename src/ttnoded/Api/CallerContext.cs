using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Ttnoded.Config;
using Ttnoded.Security;

namespace Ttnoded.Api;

/// <summary>Attaches the SO_PEERCRED caller to every request; a request whose caller cannot be known is refused.</summary>
public sealed class CallerContext(UserDirectory users, DaemonConfig config)
{
    private const string ItemKey = "ttnoded.caller";

    /// <summary>The caller of <paramref name="http"/> (set by the middleware before any endpoint runs).</summary>
    public static Caller Of(HttpContext http) => (Caller)http.Items[ItemKey]!;

    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var socket = http.Features.Get<IConnectionSocketFeature>()?.Socket;
        var cred = socket is null ? null : PeerCredentials.Read(socket);
        if (cred is null)
        {
            await ApiResults.Error(StatusCodes.Status403Forbidden, "caller credentials unavailable (SO_PEERCRED)").ExecuteAsync(http).ConfigureAwait(false);
            return;
        }
        var (pid, uid, gid) = cred.Value;
        bool admin = uid == 0 || users.IsMember(uid, gid, config.AdminGroup);
        http.Items[ItemKey] = new Caller(pid, uid, gid, users.UserName(uid), users.GroupName(gid), admin);
        http.Response.Headers[TtProtocol.ApiInfo.VersionHeader] = TtProtocol.ApiInfo.Version;
        await next(http).ConfigureAwait(false);
    }
}
