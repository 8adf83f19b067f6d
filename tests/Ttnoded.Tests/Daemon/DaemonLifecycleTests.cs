using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using TestSupport;

namespace Ttnoded.Tests.Daemon;

/// <summary>The daemon as systemd runs it: a real process, a real socket, a real NOTIFY_SOCKET.</summary>
public sealed class DaemonLifecycleTests
{
    [Fact]
    public async Task Sends_ready_only_when_the_socket_answers_and_health_is_200()
    {
        await using var d = new DaemonProcess();
        d.Start();
        string ready = d.WaitForNotification("READY=1");
        Assert.Contains($"MAINPID={d.Process.Id}", ready);
        using var http = d.Http();
        var resp = await http.GetAsync("api/v1/health");
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Contains("\"ready\":true", await resp.Content.ReadAsStringAsync());
        Assert.Equal("v1", resp.Headers.GetValues("X-Ttnoded-Api").Single());
    }

    [Fact]
    public async Task Socket_is_created_with_mode_0660()
    {
        await using var d = new DaemonProcess().StartReady();
        var mode = File.GetUnixFileMode(d.SocketPath);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, mode);
    }

    [Fact]
    public async Task Sigterm_sends_stopping_and_exits_0()
    {
        await using var d = new DaemonProcess().StartReady();
        d.Signal(DaemonProcess.SIGTERM);
        d.WaitForNotification("STOPPING=1");
        Assert.Equal(0, await d.WaitForExitAsync());
    }

    [Fact]
    public async Task Malformed_config_refuses_to_start_and_names_the_key()
    {
        await using var d = new DaemonProcess();
        d.WriteConfig("""{ "jobs": { "maxRunning": "many" } }""");
        d.Start();
        int code = await d.WaitForExitAsync();
        Assert.NotEqual(0, code);
        Assert.Contains("jobs.maxRunning", d.Output);
        Assert.False(File.Exists(d.SocketPath));
    }

    [Fact]
    public async Task Stale_socket_file_left_by_a_killed_daemon_is_replaced()
    {
        await using var d = new DaemonProcess().StartReady();
        await d.CrashAsync(); // kill -9 leaves the socket file behind
        Assert.True(File.Exists(d.SocketPath));
        d.StartReady();
        using var http = d.Http();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/health")).StatusCode);
    }

    [Fact]
    public async Task Second_daemon_on_a_live_socket_refuses_to_start()
    {
        await using var first = new DaemonProcess().StartReady();
        await using var second = new DaemonProcess();
        second.Start("--socket", first.SocketPath);
        Assert.NotEqual(0, await second.WaitForExitAsync());
        Assert.Contains("already serving", second.Output);
        using var http = first.Http();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/health")).StatusCode);
    }

    [Fact]
    public async Task Request_carries_the_callers_uid_from_so_peercred()
    {
        await using var d = new DaemonProcess().StartReady();
        using var http = d.Http();
        using var doc = JsonDocument.Parse(await http.GetStringAsync("api/v1/node"));
        var caller = doc.RootElement.GetProperty("caller");
        Assert.Equal(Environment.ProcessId == 0 ? 0 : (int)GetUid(), caller.GetProperty("uid").GetInt32());
        Assert.Equal(Environment.ProcessId, caller.GetProperty("pid").GetInt32());
    }

    [Fact]
    public async Task A_client_running_as_nobody_sees_its_own_uid()
    {
        if (!Binaries.IsRoot) return; // needs root to switch users; CI runs as root
        await using var d = new DaemonProcess();
        d.WriteConfig("""{ "socketGroup": "nogroup" }""");
        d.StartReady();
        var psi = Binaries.AsUser(Binaries.StartInfo("ttctl", ["--socket", d.SocketPath, "node", "status", "--json"]), 65534, 65534);
        var (code, stdout, stderr) = await Binaries.RunAsync(psi);
        Assert.True(code == 0, $"ttctl as nobody failed ({code}): {stderr}");
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(65534, doc.RootElement.GetProperty("caller").GetProperty("uid").GetInt32());
        Assert.False(doc.RootElement.GetProperty("caller").GetProperty("admin").GetBoolean());
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getuid")]
    private static extern uint GetUid();

    [Fact]
    public async Task Watchdog_pings_arrive_at_half_the_interval_once_ready()
    {
        await using var d = new DaemonProcess();
        d.Environment["WATCHDOG_USEC"] = "600000";
        d.StartReady();
        d.WaitForNotification("WATCHDOG=1", TimeSpan.FromSeconds(10));
        d.WaitForNotification("WATCHDOG=1", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Socket_activation_serves_on_the_socket_systemd_passes_in()
    {
        if (!File.Exists("/usr/bin/systemd-socket-activate")) throw new InvalidOperationException("systemd-socket-activate missing: scripts/deps installs systemd");
        await using var d = new DaemonProcess();
        // systemd-socket-activate binds the socket and, at the first connection, execs the daemon with LISTEN_FDS=1 and
        // LISTEN_PID set, exactly as ttnoded.socket does: the first request waits in the backlog and is answered.
        d.Wrapper = ["/usr/bin/systemd-socket-activate", "-l", d.SocketPath, "-E", "NOTIFY_SOCKET=" + d.NotifySocketPath];
        d.Start();
        for (int i = 0; i < 100 && !File.Exists(d.SocketPath); i++) await Task.Delay(50);
        using var http = d.Http(TimeSpan.FromSeconds(60));
        var first = await http.GetAsync("api/v1/version");
        Assert.Equal(System.Net.HttpStatusCode.OK, first.StatusCode);
        d.WaitForNotification("READY=1");
        using var doc = JsonDocument.Parse(await http.GetStringAsync("api/v1/health"));
        Assert.True(doc.RootElement.GetProperty("ready").GetBoolean());
        Assert.Contains("socket activation", d.Output);
    }
}
