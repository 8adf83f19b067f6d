using System.Collections.Concurrent;
using System.Text;
using Ttnoded.Systemd;

namespace Ttnoded.Tests.Usb;

/// <summary>
/// A stand-in for udisks2 on a private bus: a real D-Bus peer that owns org.freedesktop.UDisks2, answers
/// org.freedesktop.DBus.ObjectManager.GetManagedObjects on /org/freedesktop/UDisks2 and emits InterfacesAdded /
/// InterfacesRemoved (and PropertiesChanged for MountPoints) when the test plugs, unplugs or mounts a "drive" (a temp
/// dir as its mount point). Only the Block, Filesystem and Drive properties ttnoded reads are modelled.
/// </summary>
public sealed class FakeUDisks : IDisposable
{
    private const string Root = "/org/freedesktop/UDisks2";
    private const string ObjectManager = "org.freedesktop.DBus.ObjectManager";

    /// <summary>An object path value (D-Bus type 'o').</summary>
    private sealed record ObjPath(string Path);

    /// <summary>A plugged drive: its drive object and its one filesystem's block object.</summary>
    public sealed record Drive(string DrivePath, string BlockPath, string Device);

    private readonly Dictionary<string, Dictionary<string, Dictionary<string, object>>> _objects = new(StringComparer.Ordinal);
    private readonly BlockingCollection<Action<SdBusConnection>> _work = new();
    private readonly Thread _thread;
    private volatile bool _stop;
    private int _next;

    public FakeUDisks(string address)
    {
        var ready = new TaskCompletionSource();
        _thread = new Thread(() => Run(address, ready)) { IsBackground = true, Name = "fake-udisks2" };
        _thread.Start();
        ready.Task.Wait(TimeSpan.FromSeconds(10));
        if (!ready.Task.IsCompletedSuccessfully) throw ready.Task.Exception?.InnerException ?? new TimeoutException("fake udisks2 did not start");
    }

    private void Run(string address, TaskCompletionSource ready)
    {
        SdBusConnection bus;
        try
        {
            bus = SdBusConnection.Open(address);
            bus.AddFilter(m => OnMessage(bus, m));
            bus.RequestName("org.freedesktop.UDisks2");
            ready.SetResult();
        }
        catch (Exception e) { ready.SetException(e); return; }
        using (bus)
        {
            while (!_stop)
            {
                while (_work.TryTake(out var w)) w(bus);
                bus.Process();
                bus.Wait(TimeSpan.FromMilliseconds(20));
            }
        }
    }

    private void Do(Action<SdBusConnection> action)
    {
        var done = new TaskCompletionSource();
        _work.Add(bus =>
        {
            try { action(bus); done.SetResult(); }
            catch (Exception e) { done.SetException(e); }
        });
        if (!done.Task.Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException("fake udisks2 is stuck");
    }

    private bool OnMessage(SdBusConnection bus, SdBusMessage m)
    {
        if (m.Type != SdBusNative.MessageMethodCall || m.Path != Root || m.Interface != ObjectManager || m.Member != "GetManagedObjects") return false;
        using var reply = SdBusConnection.NewMethodReturn(m);
        reply.Open('a', "{oa{sa{sv}}}");
        foreach (var (path, ifaces) in _objects)
        {
            reply.Open('e', "oa{sa{sv}}").Append(path, 'o');
            WriteInterfaces(reply, ifaces);
            reply.Close();
        }
        reply.Close();
        bus.Send(reply);
        return true;
    }

    /// <summary>Plugs a drive whose one filesystem is mounted at <paramref name="mountPoint"/> (null: not mounted yet).</summary>
    public Drive Plug(string? mountPoint, bool removable = true, string connectionBus = "usb", string label = "MODELS")
    {
        int n = Interlocked.Increment(ref _next);
        var d = new Drive($"{Root}/drives/Fake_Stick_{n}", $"{Root}/block_devices/sd{(char)('a' + n)}1", $"/dev/sd{(char)('a' + n)}1");
        var driveIfaces = new Dictionary<string, Dictionary<string, object>>
        {
            ["org.freedesktop.UDisks2.Drive"] = new()
            {
                ["Vendor"] = "Fake", ["Model"] = "Stick", ["Removable"] = removable, ["MediaRemovable"] = false, ["ConnectionBus"] = connectionBus,
                ["Size"] = 16UL << 30,
            },
        };
        var blockIfaces = new Dictionary<string, Dictionary<string, object>>
        {
            ["org.freedesktop.UDisks2.Block"] = new()
            {
                ["Device"] = CString(d.Device), ["Drive"] = new ObjPath(d.DrivePath), ["IdLabel"] = label, ["IdType"] = "vfat",
            },
            ["org.freedesktop.UDisks2.Filesystem"] = new()
            {
                ["MountPoints"] = mountPoint is null ? new List<byte[]>() : new List<byte[]> { CString(mountPoint) },
            },
            ["org.freedesktop.UDisks2.Partition"] = new() { ["Number"] = 1UL },
        };
        Do(bus =>
        {
            _objects[d.DrivePath] = driveIfaces;
            Emit(bus, "InterfacesAdded", d.DrivePath, driveIfaces);
            _objects[d.BlockPath] = blockIfaces;
            Emit(bus, "InterfacesAdded", d.BlockPath, blockIfaces);
        });
        return d;
    }

    /// <summary>Mounts (or unmounts, with null) the drive's filesystem: a PropertiesChanged on MountPoints, as udisks2 sends.</summary>
    public void SetMountPoint(Drive d, string? mountPoint) => Do(bus =>
    {
        var value = mountPoint is null ? new List<byte[]>() : new List<byte[]> { CString(mountPoint) };
        _objects[d.BlockPath]["org.freedesktop.UDisks2.Filesystem"]["MountPoints"] = value;
        using var s = bus.NewSignal(d.BlockPath, "org.freedesktop.DBus.Properties", "PropertiesChanged");
        s.Append("org.freedesktop.UDisks2.Filesystem");
        WriteProperties(s, new Dictionary<string, object> { ["MountPoints"] = value });
        s.Open('a', "s").Close();
        bus.Send(s);
    });

    public void Unplug(Drive d) => Do(bus =>
    {
        foreach (var path in new[] { d.BlockPath, d.DrivePath })
        {
            if (!_objects.Remove(path, out var ifaces)) continue;
            using var s = bus.NewSignal(Root, ObjectManager, "InterfacesRemoved");
            s.Append(path, 'o').Open('a', "s");
            foreach (var i in ifaces.Keys) s.Append(i);
            s.Close();
            bus.Send(s);
        }
    });

    private static void Emit(SdBusConnection bus, string member, string path, Dictionary<string, Dictionary<string, object>> ifaces)
    {
        using var s = bus.NewSignal(Root, ObjectManager, member);
        s.Append(path, 'o');
        WriteInterfaces(s, ifaces);
        bus.Send(s);
    }

    private static void WriteInterfaces(SdBusMessage m, Dictionary<string, Dictionary<string, object>> ifaces)
    {
        m.Open('a', "{sa{sv}}");
        foreach (var (name, props) in ifaces)
        {
            m.Open('e', "sa{sv}").Append(name);
            WriteProperties(m, props);
            m.Close();
        }
        m.Close();
    }

    private static void WriteProperties(SdBusMessage m, Dictionary<string, object> props)
    {
        m.Open('a', "{sv}");
        foreach (var (name, value) in props)
        {
            m.Open('e', "sv").Append(name);
            switch (value)
            {
                case string s: m.Open('v', "s").Append(s).Close(); break;
                case ObjPath o: m.Open('v', "o").Append(o.Path, 'o').Close(); break;
                case bool b: m.Open('v', "b").Append(b).Close(); break;
                case ulong u: m.Open('v', "t").Append(u).Close(); break;
                case byte[] bytes: m.Open('v', "ay").Append(bytes).Close(); break;
                case List<byte[]> list:
                    m.Open('v', "aay").Open('a', "ay");
                    foreach (var item in list) m.Append(item);
                    m.Close().Close();
                    break;
                default: throw new ArgumentException($"property {name}: unsupported type {value.GetType()}");
            }
            m.Close();
        }
        m.Close();
    }

    private static byte[] CString(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(5));
    }
}
