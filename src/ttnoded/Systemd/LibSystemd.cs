using System.Runtime.InteropServices;

namespace Ttnoded.Systemd;

/// <summary>
/// Source-generated P/Invoke into libsystemd.so.0 (present on every systemd host). Only non-variadic entry points:
/// variadic ones (sd_notifyf, sd_bus_call_method, ...) cannot be called through P/Invoke on Linux x64.
/// </summary>
internal static partial class LibSystemd
{
    private const string Lib = "libsystemd.so.0";

    /// <summary>First file descriptor passed by socket activation.</summary>
    public const int ListenFdsStart = 3;

    [LibraryImport(Lib, EntryPoint = "sd_notify", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Notify(int unsetEnvironment, string state);

    [LibraryImport(Lib, EntryPoint = "sd_watchdog_enabled")]
    public static partial int WatchdogEnabled(int unsetEnvironment, out ulong usec);

    [LibraryImport(Lib, EntryPoint = "sd_listen_fds")]
    public static partial int ListenFds(int unsetEnvironment);

    [LibraryImport(Lib, EntryPoint = "sd_is_socket_unix", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int IsSocketUnix(int fd, int type, int listening, string? path, nuint length);
}
