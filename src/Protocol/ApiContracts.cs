namespace TtProtocol;

/// <summary>Version of the native API under /api/v1; returned in every response's <c>X-Ttnoded-Api</c> header.</summary>
public static class ApiInfo
{
    /// <summary>The API version string.</summary>
    public const string Version = "v1";
    /// <summary>Header carrying <see cref="Version"/>.</summary>
    public const string VersionHeader = "X-Ttnoded-Api";
    /// <summary>Default socket path of the packaged service.</summary>
    public const string DefaultSocketPath = "/run/ttnoded/ttnoded.sock";
}

/// <summary>GET /api/v1/health.</summary>
public sealed record HealthResponse(string Status, bool Ready, string Detail);

/// <summary>GET /api/v1/version.</summary>
public sealed record VersionResponse(string Version, string Api, string Runtime, bool NativeAot);

/// <summary>The caller as the daemon saw it through SO_PEERCRED.</summary>
public sealed record CallerInfo(int Pid, uint Uid, uint Gid, bool Admin);

/// <summary>GET /api/v1/node: identity and state of this node.</summary>
public sealed record NodeResponse(
    string Hostname,
    string Version,
    string State,
    string StatusText,
    DateTimeOffset StartedAt,
    double UptimeSeconds,
    string Sysroot,
    string StateDir,
    CallerInfo Caller);

/// <summary>Every error of the native API: one line naming what is wrong.</summary>
public sealed record ErrorResponse(string Error, string? Field = null);
