using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace TestSupport;

/// <summary>
/// A real ttnoded process in a temporary directory, with a NOTIFY_SOCKET the test listens on (as systemd would).
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private readonly Socket _notify;
    private readonly CancellationTokenSource _cts = new();
    private readonly StringBuilder _output = new();
    private Process? _process;

    public string Dir { get; }
    public string SocketPath => Path.Combine(Dir, "run", "ttnoded.sock");
    public string StateDir => Path.Combine(Dir, "state");
    public string LogDir => Path.Combine(Dir, "log");
    public string ConfigPath => Path.Combine(Dir, "ttnoded.json");
    public string Sysroot { get; set; }
    public BlockingCollection<string> Notifications { get; } = new();
    public Process Process => _process ?? throw new InvalidOperationException("not started");
    public string Output { get { lock (_output) return _output.ToString(); } }

    public DaemonProcess(string? dir = null, string? sysroot = null)
    {
        Dir = dir ?? Directory.CreateTempSubdirectory("ttnoded-test-").FullName;
        // Other users (the 'nobody' client) must be able to reach the socket through these directories.
        File.SetUnixFileMode(Dir, (UnixFileMode)0x1ED); // 0755
        Directory.CreateDirectory(Path.Combine(Dir, "run"));
        File.SetUnixFileMode(Path.Combine(Dir, "run"), (UnixFileMode)0x1ED);
        Sysroot = sysroot ?? Path.Combine(Dir, "sysroot");
        Directory.CreateDirectory(Sysroot);
        _notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _notify.Bind(new UnixDomainSocketEndPoint(Path.Combine(Dir, "notify.sock")));
        _ = Task.Run(ReceiveNotificationsAsync);
    }

    public string NotifySocketPath => Path.Combine(Dir, "notify.sock");

    /// <summary>Writes the config file (JSON text).</summary>
    public void WriteConfig(string json) => File.WriteAllText(ConfigPath, json);

    /// <summary>Extra environment for the daemon (e.g. WATCHDOG_USEC).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>When set, the daemon is started through this wrapper (e.g. systemd-socket-activate -l SOCKET).</summary>
    public string[]? Wrapper { get; set; }

    public void Start(params string[] extraArgs)
    {
        var args = new List<string> { "--config", ConfigPath, "--socket", SocketPath, "--state-dir", StateDir, "--log-dir", LogDir, "--sysroot", Sysroot };
        args.AddRange(extraArgs);
        var psi = Binaries.StartInfo("ttnoded", args);
        if (Wrapper is not null)
        {
            var inner = new List<string> { psi.FileName };
            inner.AddRange(psi.ArgumentList);
            psi.FileName = Wrapper[0];
            psi.ArgumentList.Clear();
            foreach (var a in Wrapper.Skip(1).Concat(inner)) psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in Environment) psi.Environment[k] = v;
        psi.Environment["NOTIFY_SOCKET"] = NotifySocketPath;
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Waits for a notification containing <paramref name="needle"/> (e.g. READY=1).</summary>
    public string WaitForNotification(string needle, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (DateTime.UtcNow < deadline)
        {
            if (Notifications.TryTake(out var msg, TimeSpan.FromMilliseconds(100)))
            {
                if (msg.Contains(needle, StringComparison.Ordinal)) return msg;
                continue;
            }
            if (_process is { HasExited: true })
            {
                // what it sent just before exiting may still be on its way from the socket into Notifications (the AOT
                // daemon exits within a millisecond of STOPPING=1), and its last output lines into Output
                while (Notifications.TryTake(out var late, TimeSpan.FromMilliseconds(500)))
                    if (late.Contains(needle, StringComparison.Ordinal)) return late;
                _process.WaitForExit();
                throw new InvalidOperationException($"ttnoded exited with {_process.ExitCode} before '{needle}':\n{Output}");
            }
        }
        throw new TimeoutException($"no '{needle}' from ttnoded:\n{Output}");
    }

    /// <summary>Starts and waits for READY=1.</summary>
    public DaemonProcess StartReady(params string[] extraArgs)
    {
        Start(extraArgs);
        WaitForNotification("READY=1");
        return this;
    }

    public HttpClient Http(TimeSpan? timeout = null) => UnixHttp.Client(SocketPath, timeout);

    public void Signal(int signal)
    {
        if (KillSyscall(Process.Id, signal) != 0) throw new InvalidOperationException($"kill({Process.Id}, {signal}) failed");
    }

    public const int SIGTERM = 15;
    public const int SIGKILL = 9;

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await Process.WaitForExitAsync(cts.Token);
        return Process.ExitCode;
    }

    /// <summary>kill -9 and wait, for crash tests.</summary>
    public async Task CrashAsync()
    {
        Signal(SIGKILL);
        await WaitForExitAsync();
    }

    private async Task ReceiveNotificationsAsync()
    {
        var buf = new byte[4096];
        while (!_cts.IsCancellationRequested)
        {
            try
            {
                int n = await _notify.ReceiveAsync(buf, SocketFlags.None, _cts.Token);
                Notifications.Add(Encoding.UTF8.GetString(buf, 0, n));
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { return; }
        }
    }

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int KillSyscall(int pid, int sig);

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            try { Signal(SIGKILL); await _process.WaitForExitAsync(); } catch (InvalidOperationException) { }
        }
        _process?.Dispose();
        _cts.Cancel();
        _notify.Dispose();
        try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
