namespace Ttnoded.Hardware;

/// <summary>
/// Re-probes the hardware periodically so vanished cards and stopped heartbeats are noticed without a
/// client asking (the monitor raises <see cref="HardwareMonitor.Changed"/>). Each probe runs through
/// <see cref="HardwareMonitor.GetSnapshot"/>, so a sysfs read that hangs never blocks this loop or the API.
/// </summary>
public sealed class HardwareChangeWatcher : IAsyncDisposable
{
    private readonly HardwareMonitor _monitor;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>Creates the watcher; call <see cref="Start"/>.</summary>
    public HardwareChangeWatcher(HardwareMonitor monitor, TimeSpan? interval = null)
    {
        _monitor = monitor;
        _interval = interval ?? TimeSpan.FromSeconds(2);
    }

    /// <summary>Starts the background loop (idempotent).</summary>
    public void Start() => _loop ??= Task.Run(RunAsync);

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            do { _monitor.GetSnapshot(TimeSpan.Zero); }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) { }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null) await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
