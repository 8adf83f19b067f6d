using Microsoft.Extensions.Logging;

namespace Ttnoded.Systemd;

/// <summary>
/// Talks to the service manager: READY/STATUS/STOPPING/WATCHDOG through sd_notify. Outside systemd (no NOTIFY_SOCKET)
/// sd_notify is a no-op; without libsystemd at all every call is a no-op too, logged once.
/// </summary>
public sealed class SystemdNotifier(ILogger<SystemdNotifier> log)
{
    private bool _unavailable;

    /// <summary>True when a service manager listens (NOTIFY_SOCKET is set).</summary>
    public static bool UnderSystemd => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));

    public void Ready(string status) => Send($"READY=1\nSTATUS={status}\nMAINPID={Environment.ProcessId}");
    public void Status(string status) => Send($"STATUS={status}");
    public void Stopping(string status) => Send($"STOPPING=1\nSTATUS={status}");
    public void WatchdogPing() => Send("WATCHDOG=1");

    /// <summary>The watchdog interval systemd expects pings within, or null when the watchdog is off.</summary>
    public TimeSpan? WatchdogInterval()
    {
        if (_unavailable) return null;
        try
        {
            return LibSystemd.WatchdogEnabled(0, out ulong usec) > 0 && usec > 0 ? TimeSpan.FromMicroseconds(usec) : null;
        }
        catch (DllNotFoundException) { MarkUnavailable(); return null; }
    }

    private void Send(string state)
    {
        if (_unavailable) return;
        try
        {
            int rc = LibSystemd.Notify(0, state);
            if (rc < 0) log.LogWarning("sd_notify failed with errno {Errno}", -rc);
        }
        catch (DllNotFoundException) { MarkUnavailable(); }
    }

    private void MarkUnavailable()
    {
        _unavailable = true;
        if (UnderSystemd) log.LogWarning("libsystemd.so.0 not found: cannot notify the service manager");
    }
}
