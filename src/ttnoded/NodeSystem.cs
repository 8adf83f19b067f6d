using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Ttnoded.Allocations;
using Ttnoded.Api;
using Ttnoded.Hardware;
using Ttnoded.Inference;
using Ttnoded.Jobs;
using Ttnoded.Models;
using Ttnoded.Scheduling;
using Ttnoded.Config;
using Ttnoded.Logging;
using Ttnoded.Security;
using Ttnoded.Store;
using Ttnoded.Systemd;
using Ttnoded.Usb;

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
        _store = StateStore.Open(_paths.DatabasePath, [.. Migrations.All, JobStore.Schema, AllocationStore.Schema, ModelSchema.Migration]);

        int? activatedFd = SocketActivation.ListeningUnixSocket();
        if (activatedFd is not null) Console.Out.WriteLine($"ttnoded: serving on fd {activatedFd} from socket activation");
        if (activatedFd is null) UnixSocketListener.PrepareSocketPath(_paths.SocketPath);
        // A thousand clients may connect at once: a short accept backlog would refuse some with EAGAIN.
        builder.WebHost.UseSockets(o => o.Backlog = 4096);
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

        // Hardware: cards under the sysroot, per-card locks next to the socket, a watcher for cards that come and go.
        var hardware = new HardwareMonitor(_paths.Sysroot, _paths.LocksDir);
        hardware.RegisterOwnProcess(Environment.ProcessId);
        ProbeHardware ??= _ => Task.Run(hardware.Probe, stop);
        var watcher = new HardwareChangeWatcher(hardware);
        builder.Services.AddSingleton(hardware);

        // Jobs: durable queue, fair-share scheduler, dispatcher onto the engine.
        if (ModelCatalog is null)
        {
            var models = new ModelStore(_paths.ModelsDir, _store, ModelStore.TrustFrom(_config.Trust.Policy, _config.Trust.KeysDir),
                () => NodeFactsFrom(hardware.GetSnapshot(TimeSpan.FromSeconds(5))));
            models.Initialize();
            builder.Services.AddSingleton(models);
            ModelCatalog = models;
        }
        var catalog = ModelCatalog;
        var jobStore = new JobStore(_store);
        var queue = new JobQueue();
        var feeds = new JobFeeds();
        var scheduler = new FairShareScheduler(SchedulingPolicyFrom(_config), new UsageTracker(TimeSpan.FromMinutes(_config.Jobs.UsageHalfLifeMinutes)));
        var allocations = new AllocationService(new AllocationStore(_store), hardware, users);
        var jobService = new JobService(jobStore, queue, feeds, scheduler, _config, users, allocations, catalog, _store);
        builder.Services.AddSingleton(jobService);
        builder.Services.AddSingleton(queue);
        builder.Services.AddSingleton(feeds);
        builder.Services.AddSingleton(scheduler);
        builder.Services.AddSingleton(allocations);
        builder.Services.AddSingleton(jobStore);
        builder.Services.AddSingleton(catalog);
        builder.Services.AddSingleton<ModelPool>();
        builder.Services.AddSingleton<IJobExecutor>(sp => Executor ??= new EngineExecutor(sp.GetRequiredService<ModelPool>()));
        builder.Services.AddSingleton<Metrics.RequestMetrics>();
        builder.Services.AddSingleton<JobDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobDispatcher>());

        var app = builder.Build();
        _app = app;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ttnoded");
        var notifier = app.Services.GetRequiredService<SystemdNotifier>();
        var callers = new CallerContext(users, _config);
        app.Use(callers.InvokeAsync);
        CoreEndpoints.Map(app, State, _paths);
        HardwareEndpoints.Map(app, hardware);
        JobEndpoints.Map(app, jobService, feeds);
        AllocationEndpoints.Map(app, allocations, _store);
        ModelLoadEndpoints.Map(app, app.Services.GetRequiredService<ModelPool>(), _store);
        if (app.Services.GetService<ModelStore>() is { } modelStore)
            ModelEndpoints.Map(app, modelStore, new ModelUseGuard(queue, catalog, app.Services.GetRequiredService<ModelPool>()), _store);
        // USB drives through udisks2 (own thread; a missing bus is retried in the background, never blocks start-up).
        var usb = new UsbService(_config, app.Services.GetService<ModelStore>(), _store, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("usb"));
        UsbEndpoints.Map(app, usb, _store);
        usb.Start();
        app.Lifetime.ApplicationStopping.Register(usb.Dispose);
        OpenAiEndpoints.Map(app, jobService, feeds, catalog);
        var requestMetrics = app.Services.GetRequiredService<Metrics.RequestMetrics>();
        app.MapGet("/metrics", (HttpContext http) =>
        {
            var text = new StringWriter();
            HardwareEndpoints.WriteMetrics(text, hardware);
            requestMetrics.WriteTo(text);
            return Results.Text(text.ToString(), "text/plain; version=0.0.4; charset=utf-8");
        });
        app.Services.GetRequiredService<JobDispatcher>().Recover();

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

        watcher.Start();
        app.Lifetime.ApplicationStopping.Register(() => watcher.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5)));

        State.MarkReady("ready");
        notifier.Ready(State.Status);
        log.LogInformation("ttnoded ready on {Socket}", _paths.SocketPath);

        await app.WaitForShutdownAsync(stop).ConfigureAwait(false);
        log.LogInformation("ttnoded stopped");
        return 0;
    }

    /// <summary>Where registered models live (the model store).</summary>
    public IModelCatalog? ModelCatalog { get; set; }

    /// <summary>What runs jobs (the engine host).</summary>
    public IJobExecutor? Executor { get; set; }

    /// <summary>What this node offers, for a model bundle's hardware requirements.</summary>
    private static NodeFacts NodeFactsFrom(NodeHardwareSnapshot hw)
    {
        var present = hw.PresentCards.ToList();
        string? lowest = present.Select(c => c.Firmware.Bundle).Where(b => b is not null)
            .Select(b => (Text: b!, Ok: FirmwareVersion.TryParse(b, out var v), Version: v))
            .Where(x => x.Ok).OrderBy(x => x.Version).Select(x => x.Text).FirstOrDefault();
        var devices = present.Select(c => c.BoardType).Append("cpu").Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return new NodeFacts(lowest, hw.DriverVersion, devices);
    }

    private static SchedulingPolicy SchedulingPolicyFrom(DaemonConfig c) => new()
    {
        AgingSeconds = c.Jobs.AgingSeconds,
        UsageHalfLife = TimeSpan.FromMinutes(c.Jobs.UsageHalfLifeMinutes),
        MaxRunningPerUser = c.Jobs.MaxRunningPerUser,
        MaxRunningPerProject = c.Jobs.MaxRunningPerProject,
        ProjectWeights = c.Jobs.ProjectWeights,
    };

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync().ConfigureAwait(false);
        _store?.Dispose();
    }
}
