using Microsoft.Extensions.Hosting;

namespace Ttnoded.Systemd;

/// <summary>Sends WATCHDOG=1 at half the interval systemd asked for (WatchdogSec=), while the daemon is ready.</summary>
public sealed class WatchdogPinger(SystemdNotifier notifier, NodeState state) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan? interval = notifier.WatchdogInterval();
        if (interval is null) return;
        using var timer = new PeriodicTimer(interval.Value / 2);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            // A daemon whose start-up hangs must be killed by the watchdog, so ping only once ready.
            if (state.Ready) notifier.WatchdogPing();
        }
    }
}
