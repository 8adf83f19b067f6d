using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Ttnoded.Tests.Usb;

/// <summary>A real private dbus-daemon (Debian package dbus) listening on a Unix socket in a temp dir; killed on dispose.</summary>
public sealed partial class DbusDaemon : IDisposable
{
    public string Address { get; }
    public int Pid { get; }

    private DbusDaemon(string address, int pid)
    {
        Address = address;
        Pid = pid;
    }

    /// <summary>Starts `dbus-daemon --session --fork` on unix:path=<paramref name="socketPath"/>.</summary>
    public static DbusDaemon Start(string socketPath)
    {
        var psi = new ProcessStartInfo("dbus-daemon")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--session", "--fork", "--nopidfile", "--print-address=1", "--print-pid=1", $"--address=unix:path={socketPath}" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string? address = p.StandardOutput.ReadLine();
        string? pid = p.StandardOutput.ReadLine();
        p.WaitForExit(10_000);
        if (string.IsNullOrEmpty(address) || !int.TryParse(pid, out int n))
            throw new InvalidOperationException($"dbus-daemon did not start: {address} {pid} {p.StandardError.ReadToEnd()}");
        return new DbusDaemon(address.Trim(), n);
    }

    public void Dispose()
    {
        Kill(Pid, 15);
        for (int i = 0; i < 100 && Kill(Pid, 0) == 0; i++) Thread.Sleep(20);
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int sig);
}
