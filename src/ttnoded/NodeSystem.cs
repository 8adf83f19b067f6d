using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Ttnoded.Api;
using Ttnoded.Config;
using Ttnoded.Logging;
using Ttnoded.Security;
using Ttnoded.Store;
using Ttnoded.Systemd;

namespace Ttnoded;

/// <summary>
/// The composition root: builds every subsystem, serves the API on the Unix socket, and drives the start-up order that
/// READY=1 promises (store open → socket listening → hardware probed → ready).
/// </summary>
public sealed class NodeSystem : IAsyncDisposable
{
    private readonly NodePaths _paths;
    private readonly DaemonConfig _config;
    private WebApplication? _app;
    private StateStore? _store;

    public NodeSystem(NodePaths paths, DaemonConfig config)
    {
        _paths = paths;
        _config = config;
    }

    public NodeState State { get; } = new();

    /// <summary>The hardware probe run before READY=1; the hardware subsystem provides it (tests may hold it back).</summary>
    public Func<CancellationToken, Task>? ProbeHardware { get; set; }

    /// <summary>Runs until SIGTERM/SIGINT (or <paramref name="stop"/>); returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken stop = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        LoggingSetup.Configure(builder.Logging, _paths.LogDir, _config.LogLevel);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));

        Directory.CreateDirectory(_paths.StateDir);
        _store = StateStore.Open(_paths.DatabasePath);

        int? activatedFd = SocketActivation.ListeningUnixSocket();
        if (activatedFd is null) UnixSocketListener.PrepareSocketPath(_paths.SocketPath);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // model imports stream many GiB; endpoints bound their own bodies
            UnixSocketListener.Listen(k, _paths.SocketPath, activatedFd);
        });

        var users = new UserDirectory();
        builder.Services.AddSingleton(State);
        builder.Services.AddSingleton(_paths);
        builder.Services.AddSingleton(_config);
        builder.Services.AddSingleton(_store);
        builder.Services.AddSingleton(users);
        builder.Services.AddSingleton<SystemdNotifier>();
        builder.Services.AddHostedService<WatchdogPinger>();

        var app = builder.Build();
        _app = app;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ttnoded");
        var notifier = app.Services.GetRequiredService<SystemdNotifier>();
        var callers = new CallerContext(users, _config);
        app.Use(callers.InvokeAsync);
        CoreEndpoints.Map(app, State, _paths);

        app.Lifetime.ApplicationStopping.Register(() => notifier.Stopping("stopping"));

        log.LogInformation("ttnoded {Version} starting: socket {Socket}, state {StateDir}, sysroot {Sysroot}",
            BuildInfo.Version, _paths.SocketPath, _paths.StateDir, _paths.Sysroot);
        State.SetStatus("opening socket");
        notifier.Status(State.Status);
        await UnixSocketListener.BindWithUmaskAsync(() => app.StartAsync(stop)).ConfigureAwait(false);
        if (activatedFd is null)
        {
            uint? gid = users.GroupId(_config.SocketGroup);
            if (gid is null) log.LogWarning("socket group {Group} does not exist; socket keeps the daemon's group", _config.SocketGroup);
            string? err = UnixSocketListener.SetOwnership(_paths.SocketPath, gid);
            if (err is not null) log.LogWarning("{Error}", err);
        }

        State.SetStatus("probing hardware");
        notifier.Status(State.Status);
        if (ProbeHardware is not null) await ProbeHardware(stop).ConfigureAwait(false);

        State.MarkReady("ready");
        notifier.Ready(State.Status);
        log.LogInformation("ttnoded ready on {Socket}", _paths.SocketPath);

        await app.WaitForShutdownAsync(stop).ConfigureAwait(false);
        log.LogInformation("ttnoded stopped");
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync().ConfigureAwait(false);
        _store?.Dispose();
    }
}
