namespace Ttnoded;

/// <summary>Every path the daemon uses, resolved once at start-up (defaults ← config file ← command line).</summary>
public sealed record NodePaths(string ConfigPath, string SocketPath, string StateDir, string LogDir, string Sysroot)
{
    /// <summary>Defaults of the packaged service (systemd's RuntimeDirectory, StateDirectory, LogsDirectory).</summary>
    public const string DefaultConfig = "/etc/ttnoded/ttnoded.json";
    public const string DefaultSocket = "/run/ttnoded/ttnoded.sock";
    public const string DefaultStateDir = "/var/lib/ttnoded";
    public const string DefaultLogDir = "/var/log/ttnoded";
    public const string DefaultSysroot = "/";

    /// <summary>The SQLite store holding jobs, models, allocations and the audit log.</summary>
    public string DatabasePath => Path.Combine(StateDir, "ttnoded.db");

    /// <summary>Content-addressed model blobs and manifests.</summary>
    public string ModelsDir => Path.Combine(StateDir, "models");

    /// <summary>Per-card lock files (flock), next to the socket so they vanish with the runtime directory.</summary>
    public string LocksDir => Path.Combine(Path.GetDirectoryName(SocketPath) ?? "/run/ttnoded", "locks");

    /// <summary>A path under the sysroot (sys/, proc/, dev/ are read through it so tests can use fixture trees).</summary>
    public string UnderSysroot(string relative) => Path.Combine(Sysroot, relative.TrimStart('/'));
}
