using System.Text;
using Ttnoded.Systemd;

namespace Ttnoded.Usb;

/// <summary>A filesystem of a removable drive that udisks2 reports as mounted.</summary>
/// <param name="ObjectPath">udisks2 block object (/org/freedesktop/UDisks2/block_devices/sdb1).</param>
/// <param name="Device">Block device (/dev/sdb1), or empty if udisks2 did not say.</param>
/// <param name="Label">Filesystem label, if any.</param>
/// <param name="MountPoint">Where it is mounted (the first mount point when several).</param>
/// <param name="Vendor">Drive vendor, if known.</param>
/// <param name="Model">Drive model, if known.</param>
/// <param name="ConnectionBus">usb, sdio, ... (empty if unknown).</param>
public sealed record UsbMount(string ObjectPath, string Device, string? Label, string MountPoint, string? Vendor, string? Model, string ConnectionBus);

/// <summary>
/// A mirror of the part of udisks2's object tree that matters here (Block, Filesystem, Drive interfaces and their
/// properties), kept from GetManagedObjects plus InterfacesAdded/InterfacesRemoved/PropertiesChanged. Not thread-safe:
/// the watcher guards it.
/// </summary>
internal sealed class UDisksObjects
{
    public const string Service = "org.freedesktop.UDisks2";
    public const string RootPath = "/org/freedesktop/UDisks2";
    public const string BlockInterface = "org.freedesktop.UDisks2.Block";
    public const string FilesystemInterface = "org.freedesktop.UDisks2.Filesystem";
    public const string DriveInterface = "org.freedesktop.UDisks2.Drive";

    private static readonly HashSet<string> Interesting = [BlockInterface, FilesystemInterface, DriveInterface];

    // object path -> interface -> property -> value (string, bool, long, byte[], List<byte[]>, List<string>, or null)
    private readonly Dictionary<string, Dictionary<string, Dictionary<string, object?>>> _objects = new(StringComparer.Ordinal);

    public int Count => _objects.Count;

    public void Clear() => _objects.Clear();

    /// <summary>Replaces everything with a GetManagedObjects reply body <c>a{oa{sa{sv}}}</c>.</summary>
    public void Load(SdBusMessage reply)
    {
        _objects.Clear();
        reply.Enter('a', "{oa{sa{sv}}}");
        while (reply.Enter('e', "oa{sa{sv}}"))
        {
            string path = reply.ReadString('o')!;
            ReadInterfaces(reply, path);
            reply.Exit();
        }
        reply.Exit();
    }

    /// <summary>InterfacesAdded body <c>(o, a{sa{sv}})</c>.</summary>
    public void Added(SdBusMessage m)
    {
        string path = m.ReadString('o')!;
        ReadInterfaces(m, path);
    }

    /// <summary>InterfacesRemoved body <c>(o, as)</c>.</summary>
    public void Removed(SdBusMessage m)
    {
        string path = m.ReadString('o')!;
        if (!_objects.TryGetValue(path, out var ifaces)) return;
        m.Enter('a', "s");
        while (m.ReadString() is { } iface) ifaces.Remove(iface);
        m.Exit();
        if (ifaces.Count == 0) _objects.Remove(path);
    }

    /// <summary>org.freedesktop.DBus.Properties.PropertiesChanged body <c>(s, a{sv}, as)</c> on <paramref name="path"/>.</summary>
    public bool PropertiesChanged(string path, SdBusMessage m)
    {
        string iface = m.ReadString()!;
        if (!Interesting.Contains(iface)) return false;
        if (!_objects.TryGetValue(path, out var ifaces) || !ifaces.TryGetValue(iface, out var props)) return false;
        ReadProperties(m, props);
        m.Enter('a', "s");
        while (m.ReadString() is { } invalidated) props.Remove(invalidated);
        m.Exit();
        return true;
    }

    private void ReadInterfaces(SdBusMessage m, string path)
    {
        m.Enter('a', "{sa{sv}}");
        while (m.Enter('e', "sa{sv}"))
        {
            string iface = m.ReadString()!;
            if (Interesting.Contains(iface))
            {
                if (!_objects.TryGetValue(path, out var ifaces)) _objects[path] = ifaces = new(StringComparer.Ordinal);
                var props = new Dictionary<string, object?>(StringComparer.Ordinal);
                ReadProperties(m, props);
                ifaces[iface] = props;
            }
            else m.Skip("a{sv}");
            m.Exit();
        }
        m.Exit();
    }

    private static void ReadProperties(SdBusMessage m, Dictionary<string, object?> into)
    {
        m.Enter('a', "{sv}");
        while (m.Enter('e', "sv"))
        {
            string name = m.ReadString()!;
            into[name] = ReadVariant(m);
            m.Exit();
        }
        m.Exit();
    }

    private static object? ReadVariant(SdBusMessage m)
    {
        m.Enter('v', null);
        var t = m.Peek();
        object? value = t switch
        {
            ('s' or 'o' or 'g', _) => m.ReadString(t.Value.Type),
            ('b', _) => m.ReadBool(),
            ('y' or 'n' or 'q' or 'i' or 'u' or 'x' or 't', _) => m.ReadInteger(t.Value.Type),
            ('a', "y") => m.ReadBytes(),
            ('a', "ay") => ReadList(m, "ay", () => m.ReadBytes()),
            ('a', "s") => ReadList(m, "s", () => m.ReadString()!),
            ('a', "o") => ReadList(m, "o", () => m.ReadString('o')!),
            null => null,
            _ => null,
        };
        if (t is not null && value is null) m.Skip();
        m.Exit();
        return value;
    }

    private static List<T> ReadList<T>(SdBusMessage m, string contents, Func<T> read)
    {
        var list = new List<T>();
        m.Enter('a', contents);
        while (m.Peek() is not null) list.Add(read());
        m.Exit();
        return list;
    }

    /// <summary>Mounted filesystems whose drive is removable (Removable, MediaRemovable, or on USB/SDIO), by mount point.</summary>
    public List<UsbMount> RemovableMounts()
    {
        var result = new List<UsbMount>();
        foreach (var (path, ifaces) in _objects)
        {
            if (!ifaces.TryGetValue(FilesystemInterface, out var fs) || !ifaces.TryGetValue(BlockInterface, out var block)) continue;
            if (fs.GetValueOrDefault("MountPoints") is not List<byte[]> { Count: > 0 } mps) continue;
            if (block.GetValueOrDefault("Drive") is not string drivePath || drivePath == "/") continue;
            if (!_objects.TryGetValue(drivePath, out var driveIfaces) || !driveIfaces.TryGetValue(DriveInterface, out var drive)) continue;
            string bus = drive.GetValueOrDefault("ConnectionBus") as string ?? "";
            bool removable = drive.GetValueOrDefault("Removable") is true || drive.GetValueOrDefault("MediaRemovable") is true
                             || bus is "usb" or "sdio";
            if (!removable) continue;
            string mountPoint = CString(mps[0]);
            if (mountPoint.Length == 0 || mountPoint[0] != '/') continue;
            string device = block.GetValueOrDefault("Device") is byte[] dev ? CString(dev) : "";
            string? label = block.GetValueOrDefault("IdLabel") as string;
            result.Add(new UsbMount(path, device, string.IsNullOrEmpty(label) ? null : label, mountPoint,
                NonEmpty(drive.GetValueOrDefault("Vendor") as string), NonEmpty(drive.GetValueOrDefault("Model") as string), bus));
        }
        result.Sort((a, b) => string.CompareOrdinal(a.MountPoint, b.MountPoint));
        return result;
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    /// <summary>udisks2 sends paths as NUL-terminated byte strings.</summary>
    private static string CString(byte[] bytes)
    {
        int n = Array.IndexOf(bytes, (byte)0);
        return Encoding.UTF8.GetString(bytes, 0, n < 0 ? bytes.Length : n);
    }
}
