namespace Ttnoded.Config;

/// <summary>Everything the configuration file can set. Defaults are those of the packaged service.</summary>
public sealed class DaemonConfig
{
    public string? Socket { get; set; }
    public string? StateDir { get; set; }
    public string? LogDir { get; set; }
    public string? Sysroot { get; set; }

    /// <summary>Group that owns the socket (mode 0660): its members may talk to the daemon.</summary>
    public string SocketGroup { get; set; } = "ttnode";

    /// <summary>Members of this group (and root) may do everything: allocations, node settings, other users' jobs.</summary>
    public string AdminGroup { get; set; } = "ttadmin";

    /// <summary>Minimum level written to the log file and the journal (Serilog level names).</summary>
    public string LogLevel { get; set; } = "Information";

    public TrustConfig Trust { get; } = new();
    public JobsConfig Jobs { get; } = new();
    public EngineConfig Engine { get; } = new();
    public UsbConfig Usb { get; } = new();
}

/// <summary>Who may sign the model bundles this node imports.</summary>
public sealed class TrustConfig
{
    /// <summary><c>strict</c> (signature by a trusted key required), <c>warn</c> or <c>off</c>.</summary>
    public string Policy { get; set; } = "strict";
    public string KeysDir { get; set; } = "/etc/ttnoded/trusted-keys";
}

/// <summary>Queue bounds, concurrency and retention of inference jobs.</summary>
public sealed class JobsConfig
{
    public int MaxQueued { get; set; } = 1000;
    public int MaxQueuedPerUser { get; set; } = 100;
    public int MaxRunning { get; set; } = 4;
    public int RetentionHours { get; set; } = 168;
    public int RetentionCount { get; set; } = 10000;
    /// <summary>What happens to jobs found running after a crash: <c>requeue</c> or <c>fail</c> (reason "interrupted").</summary>
    public string OnRestart { get; set; } = "requeue";
    /// <summary>Seconds of waiting that raise a queued job's effective priority by one.</summary>
    public int AgingSeconds { get; set; } = 60;
    /// <summary>Half-life of recorded usage for fair share.</summary>
    public int UsageHalfLifeMinutes { get; set; } = 60;
    public int MaxRunningPerUser { get; set; } = 256;
    public int MaxRunningPerProject { get; set; } = 256;
    /// <summary>Requests of one model running (decoded in its batch) at once; more wait in the queue.</summary>
    public int MaxRunningPerModel { get; set; } = 256;
    /// <summary>Relative fair-share weights of projects (default 1).</summary>
    public Dictionary<string, double> ProjectWeights { get; } = new(StringComparer.Ordinal);
}

/// <summary>The built-in Llama engine.</summary>
public sealed class EngineConfig
{
    /// <summary>Worker threads; 0 means one per physical core.</summary>
    public int Threads { get; set; }
    /// <summary>How long an unused model stays loaded.</summary>
    public int KeepAliveSeconds { get; set; } = 300;
    /// <summary>KV-cache memory per loaded model kept after requests finish, for prompt prefix reuse (0 = off).</summary>
    public int PrefixCacheMiB { get; set; } = 1024;
}

/// <summary>USB drives, watched through udisks2 on D-Bus.</summary>
public sealed class UsbConfig
{
    /// <summary>Watch udisks2 and list bundles on mounted removable drives.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>Import bundles signed by a trusted key as soon as their drive is mounted (never unsigned or untrusted ones).</summary>
    public bool AutoImport { get; set; }
    /// <summary>D-Bus address of the bus udisks2 is on; null means the system bus.</summary>
    public string? BusAddress { get; set; }
}
