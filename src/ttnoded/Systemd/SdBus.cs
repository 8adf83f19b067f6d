using System.Runtime.InteropServices;

namespace Ttnoded.Systemd;

/// <summary>An sd-bus call that failed: the step, the errno and (for D-Bus errors) the error name.</summary>
public sealed class SdBusException(string step, int errno, string? errorName = null, string? detail = null)
    : Exception($"{step}: {detail ?? Marshal.GetPInvokeErrorMessage(errno)}{(errorName is null ? "" : $" ({errorName})")}")
{
    public int Errno { get; } = errno;
    public string? ErrorName { get; } = errorName;

    internal static int Check(int r, string step) => r < 0 ? throw new SdBusException(step, -r) : r;
}

/// <summary>
/// One D-Bus connection through libsystemd's sd-bus. sd-bus objects are not thread-safe: every member must be used from
/// the one thread that also runs <see cref="Process"/>/<see cref="Wait"/> (the owner's loop). Handlers registered with
/// <see cref="AddMatch"/>/<see cref="AddFilter"/> run on that thread, inside <see cref="Process"/>.
/// </summary>
internal sealed unsafe class SdBusConnection : IDisposable
{
    private nint _bus;
    private readonly List<nint> _slots = [];
    private readonly List<GCHandle> _handlers = [];

    private SdBusConnection(nint bus) => _bus = bus;

    /// <summary>Connects to the bus at <paramref name="address"/> (D-Bus address syntax) and says Hello.</summary>
    public static SdBusConnection Open(string address)
    {
        SdBusException.Check(SdBusNative.New(out nint bus), "sd_bus_new");
        try
        {
            SdBusException.Check(SdBusNative.SetAddress(bus, address), "sd_bus_set_address");
            SdBusException.Check(SdBusNative.SetBusClient(bus, 1), "sd_bus_set_bus_client");
            SdBusException.Check(SdBusNative.Start(bus), $"connect to {address}");
            return new SdBusConnection(bus);
        }
        catch
        {
            SdBusNative.FlushCloseUnref(bus);
            throw;
        }
    }

    private nint Bus => _bus != 0 ? _bus : throw new ObjectDisposedException(nameof(SdBusConnection));

    /// <summary>This connection's unique name (":1.42").</summary>
    public string UniqueName
    {
        get
        {
            SdBusException.Check(SdBusNative.GetUniqueName(Bus, out nint p), "sd_bus_get_unique_name");
            return Marshal.PtrToStringUTF8(p) ?? "";
        }
    }

    /// <summary>Requests a well-known name (fails if another connection owns it).</summary>
    public void RequestName(string name) => SdBusException.Check(SdBusNative.RequestName(Bus, name, 0), $"request name {name}");

    /// <summary>Installs a match rule (AddMatch on the bus driver) whose messages go to <paramref name="handler"/>.</summary>
    public void AddMatch(string rule, Func<SdBusMessage, bool> handler)
    {
        var h = GCHandle.Alloc(handler);
        nint slot;
        int r = SdBusNative.AddMatch(Bus, &slot, rule, &Dispatch, GCHandle.ToIntPtr(h));
        if (r < 0) { h.Free(); throw new SdBusException($"add match {rule}", -r); }
        _handlers.Add(h);
        _slots.Add(slot);
    }

    /// <summary>Sees every incoming message before objects and matches; return true to claim it.</summary>
    public void AddFilter(Func<SdBusMessage, bool> handler)
    {
        var h = GCHandle.Alloc(handler);
        nint slot;
        int r = SdBusNative.AddFilter(Bus, &slot, &Dispatch, GCHandle.ToIntPtr(h));
        if (r < 0) { h.Free(); throw new SdBusException("add filter", -r); }
        _handlers.Add(h);
        _slots.Add(slot);
    }

    [UnmanagedCallersOnly]
    private static int Dispatch(nint m, nint userdata, nint error)
    {
        // An exception must never unwind into libsystemd: it is reported as "not handled".
        try
        {
            var handler = (Func<SdBusMessage, bool>)GCHandle.FromIntPtr(userdata).Target!;
            return handler(new SdBusMessage(m, owned: false)) ? 1 : 0;
        }
        catch (Exception)
        {
            return 0;
        }
    }

    public SdBusMessage NewMethodCall(string? destination, string path, string iface, string member)
    {
        SdBusException.Check(SdBusNative.NewMethodCall(Bus, out nint m, destination, path, iface, member), $"new call {iface}.{member}");
        return new SdBusMessage(m, owned: true);
    }

    public SdBusMessage NewSignal(string path, string iface, string member)
    {
        SdBusException.Check(SdBusNative.NewSignal(Bus, out nint m, path, iface, member), $"new signal {iface}.{member}");
        return new SdBusMessage(m, owned: true);
    }

    public static SdBusMessage NewMethodReturn(SdBusMessage call)
    {
        SdBusException.Check(SdBusNative.NewMethodReturn(call.Handle, out nint m), "new method return");
        return new SdBusMessage(m, owned: true);
    }

    /// <summary>Sends <paramref name="call"/> and waits for its reply (which the caller disposes).</summary>
    public SdBusMessage Call(SdBusMessage call, TimeSpan timeout, string what)
    {
        SdBusNative.Error err = default;
        try
        {
            int r = SdBusNative.Call(Bus, call.Handle, (ulong)(timeout.Ticks / 10), &err, out nint reply);
            if (r < 0)
            {
                string? name = err.Name == 0 ? null : Marshal.PtrToStringUTF8(err.Name);
                string? msg = err.Message == 0 ? null : Marshal.PtrToStringUTF8(err.Message);
                throw new SdBusException(what, -r, name, msg);
            }
            return new SdBusMessage(reply, owned: true);
        }
        finally
        {
            SdBusNative.ErrorFree(&err);
        }
    }

    public void Send(SdBusMessage m) => SdBusException.Check(SdBusNative.Send(Bus, m.Handle, null), "sd_bus_send");

    /// <summary>Dispatches every queued message to its handler; throws when the connection is lost.</summary>
    public void Process()
    {
        while (SdBusException.Check(SdBusNative.Process(Bus, null), "sd_bus_process") > 0) { }
    }

    /// <summary>Blocks until something arrives or <paramref name="timeout"/> passes.</summary>
    public void Wait(TimeSpan timeout) => SdBusException.Check(SdBusNative.Wait(Bus, (ulong)(timeout.Ticks / 10)), "sd_bus_wait");

    public void Dispose()
    {
        if (_bus == 0) return;
        foreach (var s in _slots) SdBusNative.SlotUnref(s);
        _slots.Clear();
        SdBusNative.FlushCloseUnref(_bus);
        _bus = 0;
        foreach (var h in _handlers) h.Free();
        _handlers.Clear();
    }
}

/// <summary>
/// A message being read or built. Reads walk the body in order (enter/exit containers, read basics); builders append in
/// order. Strings read are copied at once, so they outlive the message. Owned messages are unreferenced on dispose.
/// </summary>
internal readonly unsafe struct SdBusMessage(nint handle, bool owned) : IDisposable
{
    public nint Handle { get; } = handle;

    public void Dispose()
    {
        if (owned && Handle != 0) SdBusNative.MessageUnref(Handle);
    }

    public byte Type
    {
        get
        {
            SdBusNative.GetType(Handle, out byte t);
            return t;
        }
    }

    public string? Path => Marshal.PtrToStringUTF8(SdBusNative.GetPath(Handle));
    public string? Interface => Marshal.PtrToStringUTF8(SdBusNative.GetInterface(Handle));
    public string? Member => Marshal.PtrToStringUTF8(SdBusNative.GetMember(Handle));
    public string? Sender => Marshal.PtrToStringUTF8(SdBusNative.GetSender(Handle));

    // ------------------------------------------------------------------ reading

    /// <summary>Enters the next container; false at the end of the enclosing one. A null <paramref name="contents"/> takes whatever is there.</summary>
    public bool Enter(char type, string? contents) => SdBusException.Check(SdBusNative.EnterContainer(Handle, (byte)type, contents), $"enter '{type}{contents}'") > 0;

    public void Exit() => SdBusException.Check(SdBusNative.ExitContainer(Handle), "exit container");

    /// <summary>The next item's type and (for containers) contents signature; null at the end of the container.</summary>
    public (char Type, string? Contents)? Peek()
    {
        byte t;
        nint c;
        if (SdBusException.Check(SdBusNative.PeekType(Handle, &t, &c), "peek") == 0) return null;
        return ((char)t, c == 0 ? null : Marshal.PtrToStringUTF8(c));
    }

    /// <summary>Reads a string, object path or signature (<paramref name="type"/> s, o or g); null at the end of the container.</summary>
    public string? ReadString(char type = 's')
    {
        nint p;
        if (SdBusException.Check(SdBusNative.ReadBasic(Handle, (byte)type, &p), $"read '{type}'") == 0) return null;
        return Marshal.PtrToStringUTF8(p) ?? "";
    }

    public bool ReadBool()
    {
        int v;
        if (SdBusException.Check(SdBusNative.ReadBasic(Handle, (byte)'b', &v), "read 'b'") == 0) throw new SdBusException("read 'b'", 61 /* ENODATA */);
        return v != 0;
    }

    /// <summary>Reads any fixed-size integer type as a long.</summary>
    public long ReadInteger(char type)
    {
        long v = 0;
        if (SdBusException.Check(SdBusNative.ReadBasic(Handle, (byte)type, &v), $"read '{type}'") == 0) throw new SdBusException($"read '{type}'", 61);
        return type switch
        {
            'y' => (byte)v,
            'n' => (short)v,
            'q' => (ushort)v,
            'i' => (int)v,
            'u' => (uint)v,
            _ => v,
        };
    }

    /// <summary>Reads an <c>ay</c>.</summary>
    public byte[] ReadBytes()
    {
        void* p;
        nuint n;
        SdBusException.Check(SdBusNative.ReadArray(Handle, (byte)'y', &p, &n), "read 'ay'");
        return new ReadOnlySpan<byte>(p, checked((int)n)).ToArray();
    }

    public void Skip(string? types = null) => SdBusException.Check(SdBusNative.Skip(Handle, types), $"skip '{types}'");

    // ------------------------------------------------------------------ building

    public SdBusMessage Open(char type, string contents)
    {
        SdBusException.Check(SdBusNative.OpenContainer(Handle, (byte)type, contents), $"open '{type}{contents}'");
        return this;
    }

    public SdBusMessage Close()
    {
        SdBusException.Check(SdBusNative.CloseContainer(Handle), "close container");
        return this;
    }

    public SdBusMessage Append(string value, char type = 's')
    {
        nint s = Marshal.StringToCoTaskMemUTF8(value);
        try { SdBusException.Check(SdBusNative.AppendBasic(Handle, (byte)type, (void*)s), $"append '{type}'"); }
        finally { Marshal.FreeCoTaskMem(s); }
        return this;
    }

    public SdBusMessage Append(bool value)
    {
        int v = value ? 1 : 0;
        SdBusException.Check(SdBusNative.AppendBasic(Handle, (byte)'b', &v), "append 'b'");
        return this;
    }

    public SdBusMessage Append(ulong value)
    {
        SdBusException.Check(SdBusNative.AppendBasic(Handle, (byte)'t', &value), "append 't'");
        return this;
    }

    /// <summary>Appends an <c>ay</c>.</summary>
    public SdBusMessage Append(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
            SdBusException.Check(SdBusNative.AppendArray(Handle, (byte)'y', p, (nuint)bytes.Length), "append 'ay'");
        return this;
    }
}
