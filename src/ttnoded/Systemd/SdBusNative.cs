using System.Runtime.InteropServices;

namespace Ttnoded.Systemd;

/// <summary>
/// Source-generated P/Invoke into libsystemd's sd-bus. Only the non-variadic entry points: sd_bus_call_method,
/// sd_bus_message_append and sd_bus_message_read are variadic and cannot be called from P/Invoke on Linux x64, so
/// arguments go through the _basic / container / array functions. Every function returns a negative errno on failure.
/// </summary>
internal static unsafe partial class SdBusNative
{
    private const string Lib = "libsystemd.so.0";

    /// <summary>sd_bus_error: name, message, need-free flag.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Error
    {
        public nint Name;
        public nint Message;
        public int NeedFree;
    }

    public const byte MessageMethodCall = 1;
    public const byte MessageMethodReturn = 2;
    public const byte MessageMethodError = 3;
    public const byte MessageSignal = 4;

    [LibraryImport(Lib, EntryPoint = "sd_bus_new")]
    public static partial int New(out nint bus);

    [LibraryImport(Lib, EntryPoint = "sd_bus_set_address", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetAddress(nint bus, string address);

    [LibraryImport(Lib, EntryPoint = "sd_bus_set_bus_client")]
    public static partial int SetBusClient(nint bus, int b);

    [LibraryImport(Lib, EntryPoint = "sd_bus_start")]
    public static partial int Start(nint bus);

    [LibraryImport(Lib, EntryPoint = "sd_bus_flush_close_unref")]
    public static partial nint FlushCloseUnref(nint bus);

    [LibraryImport(Lib, EntryPoint = "sd_bus_get_unique_name")]
    public static partial int GetUniqueName(nint bus, out nint name);

    [LibraryImport(Lib, EntryPoint = "sd_bus_request_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RequestName(nint bus, string name, ulong flags);

    [LibraryImport(Lib, EntryPoint = "sd_bus_process")]
    public static partial int Process(nint bus, nint* ret);

    [LibraryImport(Lib, EntryPoint = "sd_bus_wait")]
    public static partial int Wait(nint bus, ulong timeoutUsec);

    [LibraryImport(Lib, EntryPoint = "sd_bus_call")]
    public static partial int Call(nint bus, nint message, ulong usec, Error* error, out nint reply);

    [LibraryImport(Lib, EntryPoint = "sd_bus_send")]
    public static partial int Send(nint bus, nint message, ulong* cookie);

    // Callbacks are sd_bus_message_handler_t: int (*)(sd_bus_message *m, void *userdata, sd_bus_error *ret_error).
    [LibraryImport(Lib, EntryPoint = "sd_bus_add_match", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int AddMatch(nint bus, nint* slot, string match, delegate* unmanaged<nint, nint, nint, int> callback, nint userdata);

    [LibraryImport(Lib, EntryPoint = "sd_bus_add_filter")]
    public static partial int AddFilter(nint bus, nint* slot, delegate* unmanaged<nint, nint, nint, int> callback, nint userdata);

    [LibraryImport(Lib, EntryPoint = "sd_bus_slot_unref")]
    public static partial nint SlotUnref(nint slot);

    [LibraryImport(Lib, EntryPoint = "sd_bus_error_free")]
    public static partial void ErrorFree(Error* error);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_new_method_call", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int NewMethodCall(nint bus, out nint m, string? destination, string path, string? iface, string member);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_new_method_return")]
    public static partial int NewMethodReturn(nint call, out nint m);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_new_signal", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int NewSignal(nint bus, out nint m, string path, string iface, string member);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_unref")]
    public static partial nint MessageUnref(nint m);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_get_type")]
    public static partial int GetType(nint m, out byte type);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_get_path")]
    public static partial nint GetPath(nint m);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_get_interface")]
    public static partial nint GetInterface(nint m);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_get_member")]
    public static partial nint GetMember(nint m);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_get_sender")]
    public static partial nint GetSender(nint m);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_append_basic")]
    public static partial int AppendBasic(nint m, byte type, void* p);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_append_array")]
    public static partial int AppendArray(nint m, byte type, void* p, nuint size);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_open_container", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenContainer(nint m, byte type, string contents);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_close_container")]
    public static partial int CloseContainer(nint m);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_enter_container", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int EnterContainer(nint m, byte type, string? contents);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_exit_container")]
    public static partial int ExitContainer(nint m);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_read_basic")]
    public static partial int ReadBasic(nint m, byte type, void* p);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_read_array")]
    public static partial int ReadArray(nint m, byte type, void** ptr, nuint* size);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_peek_type")]
    public static partial int PeekType(nint m, byte* type, nint* contents);

    [LibraryImport(Lib, EntryPoint = "sd_bus_message_skip", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Skip(nint m, string? types);
}
