using Microsoft.Extensions.Logging;
using Ttnoded.Systemd;

namespace Ttnoded.Usb;

/// <summary>
/// Follows udisks2 on the system D-Bus (or any bus address) and keeps the set of mounted removable filesystems.
/// It runs on its own thread (sd-bus is single-threaded and its calls block), so it can never block the daemon. A missing
/// bus or a missing udisks2 is logged once as a warning; the watcher then retries with backoff (1 s doubling to 60 s)
/// or, when the bus is up, waits for udisks2 to claim its name.
/// </summary>
public sealed class UsbWatcher : IDisposable
{
    /// <summary>Where the system bus is when neither the config nor DBUS_SYSTEM_BUS_ADDRESS says otherwise.</summary>
    public const string DefaultSystemBus = "unix:path=/run/dbus/system_bus_socket";

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(25);

    private readonly ILogger _log;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Lock _lock = new();
    private readonly UDisksObjects _objects = new();
    private IReadOnlyList<UsbMount> _mounts = [];
    private string _status = "starting";
    private bool _connected;
    private Thread? _thread;
    private bool _reload;

    public UsbWatcher(string? busAddress, ILogger log)
    {
        Address = busAddress ?? (Environment.GetEnvironmentVariable("DBUS_SYSTEM_BUS_ADDRESS") is { Length: > 0 } env ? env : DefaultSystemBus);
        _log = log;
    }

    /// <summary>The D-Bus address watched.</summary>
    public string Address { get; }

    /// <summary>Raised (on the watcher thread) after the set of mounted removable filesystems changed; keep handlers short.</summary>
    public event Action? Changed;

    /// <summary>The mounted removable filesystems, sorted by mount point.</summary>
    public IReadOnlyList<UsbMount> Mounts { get { lock (_lock) return _mounts; } }

    /// <summary>True while connected to the bus with udisks2 answering.</summary>
    public bool Connected { get { lock (_lock) return _connected; } }

    /// <summary>One line: what the watcher is doing ("watching udisks2 on ...", or why not).</summary>
    public string Status { get { lock (_lock) return _status; } }

    public void Start()
    {
        if (_thread is not null) return;
        _thread = new Thread(Run) { IsBackground = true, Name = "usb-udisks2" };
        _thread.Start();
    }

    private void Run()
    {
        var backoff = TimeSpan.FromSeconds(1);
        bool warned = false;
        while (!_stop.IsSet)
        {
            try
            {
                using var bus = SdBusConnection.Open(Address);
                backoff = TimeSpan.FromSeconds(1);
                Subscribe(bus);
                bool waitingLogged = false;
                _reload = true;
                while (!_stop.IsSet)
                {
                    if (_reload)
                    {
                        _reload = false;
                        if (TryLoad(bus, out string? why))
                        {
                            warned = waitingLogged = false;
                            _log.LogInformation("usb: watching udisks2 on {Address}: {Count} removable filesystem(s) mounted", Address, Mounts.Count);
                        }
                        else
                        {
                            SetState(false, $"connected to {Address}, but udisks2 is not there ({why}); waiting for it");
                            if (!waitingLogged && !warned) _log.LogWarning("usb: udisks2 is not available on {Address} ({Why}); USB drives are not watched until it starts", Address, why);
                            waitingLogged = true;
                        }
                    }
                    bus.Process();
                    if (_reload) continue;
                    bus.Wait(TimeSpan.FromMilliseconds(500));
                }
            }
            catch (Exception e) // SdBusException, or no libsystemd at all (DllNotFoundException): the thread must never die
            {
                SetState(false, $"not connected to {Address}: {e.Message}; retrying in {backoff.TotalSeconds:0}s");
                Publish(clear: true);
                if (!warned) _log.LogWarning("usb: cannot watch USB drives: {Error}; retrying with backoff", e.Message);
                else _log.LogDebug("usb: still cannot reach {Address}: {Error}", Address, e.Message);
                warned = true;
                _stop.Wait(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private void Subscribe(SdBusConnection bus)
    {
        const string om = "org.freedesktop.DBus.ObjectManager";
        bus.AddMatch($"type='signal',sender='{UDisksObjects.Service}',path='{UDisksObjects.RootPath}',interface='{om}',member='InterfacesAdded'", m =>
        {
            lock (_lock) _objects.Added(m);
            Publish();
            return true;
        });
        bus.AddMatch($"type='signal',sender='{UDisksObjects.Service}',path='{UDisksObjects.RootPath}',interface='{om}',member='InterfacesRemoved'", m =>
        {
            lock (_lock) _objects.Removed(m);
            Publish();
            return true;
        });
        // Mounting an already-present filesystem (udisksctl mount, or mount(8), which udisks2 notices) changes MountPoints.
        bus.AddMatch($"type='signal',sender='{UDisksObjects.Service}',path_namespace='{UDisksObjects.RootPath}',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'", m =>
        {
            bool changed;
            lock (_lock) changed = _objects.PropertiesChanged(m.Path ?? "", m);
            if (changed) Publish();
            return true;
        });
        // udisks2 (re)started or went away: reload its whole tree.
        bus.AddMatch($"type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{UDisksObjects.Service}'", _ =>
        {
            _reload = true;
            return true;
        });
    }

    private bool TryLoad(SdBusConnection bus, out string? why)
    {
        using var call = bus.NewMethodCall(UDisksObjects.Service, UDisksObjects.RootPath, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
        try
        {
            using var reply = bus.Call(call, CallTimeout, "udisks2 GetManagedObjects");
            lock (_lock) _objects.Load(reply);
        }
        catch (SdBusException e) when (e.ErrorName is not null)
        {
            why = e.Message;
            lock (_lock) _objects.Clear();
            Publish();
            return false;
        }
        SetState(true, $"watching udisks2 on {Address}");
        why = null;
        Publish();
        return true;
    }

    private void SetState(bool connected, string status)
    {
        lock (_lock)
        {
            _connected = connected;
            _status = status;
        }
    }

    private void Publish(bool clear = false)
    {
        bool changed;
        lock (_lock)
        {
            if (clear) _objects.Clear();
            var now = _objects.RemovableMounts();
            changed = !now.SequenceEqual(_mounts);
            _mounts = now;
        }
        if (!changed) return;
        try { Changed?.Invoke(); }
        catch (Exception e) { _log.LogError(e, "usb: change handler failed"); }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread?.Join(TimeSpan.FromSeconds(5));
    }
}
