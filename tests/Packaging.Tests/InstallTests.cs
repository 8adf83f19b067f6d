using System.Diagnostics;
using TestSupport;

namespace Packaging.Tests;

/// <summary>A real dpkg -i of the built .deb on this machine (root on CI), then dpkg --purge: nothing may stay behind.</summary>
[Collection(PackagesCollection.Name)]
public sealed class InstallTests(PackagesFixture pkg)
{
    [Fact]
    public async Task Deb_installs_runs_upgrades_in_place_and_purges_clean()
    {
        if (!Binaries.IsRoot) Assert.Fail("installing packages needs root (CI runs as root)");
        await Machine.PurgeAsync();
        var files = await Machine.DebFilesAsync(pkg.Deb);
        Process? daemon = null;
        try
        {
            var (code, o, e) = await Sh.RunAsync("dpkg", "-i", pkg.Deb);
            Assert.True(code == 0, $"dpkg -i exited {code}\n{o}\n{e}");
            // systemd is not PID 1 here: the scripts must say so, enable the units and not try to start them.
            Assert.Contains("units enabled, not started", o, StringComparison.Ordinal);
            Assert.True(Sh.Exists("/etc/systemd/system/multi-user.target.wants/ttnoded.service"));
            Assert.True(Sh.Exists("/etc/systemd/system/sockets.target.wants/ttnoded.socket"));

            Assert.Equal($"ttnoded {pkg.Version}", (await Sh.OkAsync("/usr/bin/ttnoded", "--version")).Trim());
            Assert.Contains("ttctl", await Sh.OkAsync("/usr/bin/ttctl", "--help"), StringComparison.Ordinal);

            Assert.True(await Machine.UserExistsAsync("ttnode"));
            Assert.True(await Machine.GroupExistsAsync("ttnode"));
            Assert.True(await Machine.GroupExistsAsync("ttadmin"));
            Assert.Equal("/usr/sbin/nologin", (await Sh.OkAsync("getent", "passwd", "ttnode")).Trim().Split(':')[6]);

            Assert.Equal("root:root 755", await Machine.OwnerModeAsync("/usr/lib/ttnoded/ttnoded"));
            Assert.Equal("root:root 755", await Machine.OwnerModeAsync("/usr/lib/ttnoded/ttctl"));
            Assert.Equal("root:root 644", await Machine.OwnerModeAsync("/usr/lib/ttnoded/libe_sqlite3.so"));
            Assert.Equal("root:root 644", await Machine.OwnerModeAsync("/etc/ttnoded/ttnoded.json"));
            Assert.Equal("root:root 755", await Machine.OwnerModeAsync("/etc/ttnoded/trusted-keys"));
            Assert.Equal("root:root 644", await Machine.OwnerModeAsync("/lib/systemd/system/ttnoded.service"));
            Assert.Equal("ttnode:ttnode 750", await Machine.OwnerModeAsync("/var/lib/ttnoded"));
            Assert.Equal("ttnode:ttnode 750", await Machine.OwnerModeAsync("/var/log/ttnoded"));
            Assert.Equal("ttnode:ttnode 755", await Machine.OwnerModeAsync("/run/ttnoded"));

            // The installed daemon, as the service runs it (user ttnode, packaged config and paths): it must find
            // libe_sqlite3.so through /usr/bin's symlink, accept the shipped config and answer ttctl.
            var psi = new ProcessStartInfo("setpriv", ["--reuid=ttnode", "--regid=ttnode", "--init-groups", "/usr/bin/ttnoded"])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.Environment.Remove("NOTIFY_SOCKET");
            daemon = Process.Start(psi)!;
            // Drain both pipes from the start: an unread pipe would block the daemon, a ReadToEnd would block the test.
            var daemonOut = daemon.StandardOutput.ReadToEndAsync();
            var daemonErr = daemon.StandardError.ReadToEndAsync();
            string status = "";
            for (int i = 0; i < 120 && !daemon.HasExited; i++)
            {
                (code, status, _) = await Sh.RunAsync("/usr/bin/ttctl", "node", "status");
                if (code == 0) break;
                await Task.Delay(250);
            }
            if (daemon.HasExited) Assert.Fail($"ttnoded exited {daemon.ExitCode}: " + await daemonOut + await daemonErr);
            Assert.Contains("state:     ready", status, StringComparison.Ordinal);
            Assert.True(File.Exists("/var/lib/ttnoded/ttnoded.db"));
            Assert.Equal("ttnode:ttnode 660", await Machine.OwnerModeAsync("/run/ttnoded/ttnoded.sock"));
            daemon.Kill();
            await daemon.WaitForExitAsync();

            // Installing the same package again is the upgrade path: the scripts are idempotent, state is kept.
            (code, o, e) = await Sh.RunAsync("dpkg", "-i", pkg.Deb);
            Assert.True(code == 0, $"second dpkg -i exited {code}\n{o}\n{e}");
            Assert.True(File.Exists("/var/lib/ttnoded/ttnoded.db"), "an upgrade must keep the state");

            // remove keeps state and configuration; purge deletes it.
            (code, o, e) = await Sh.RunAsync("dpkg", "--remove", "ttnoded");
            Assert.True(code == 0, $"dpkg --remove exited {code}\n{o}\n{e}");
            Assert.True(File.Exists("/var/lib/ttnoded/ttnoded.db"), "remove (without purge) must keep the state");
            Assert.True(File.Exists("/etc/ttnoded/ttnoded.json"), "remove (without purge) must keep the configuration");
            Assert.False(Sh.Exists("/usr/bin/ttnoded"));

            (code, o, e) = await Sh.RunAsync("dpkg", "--purge", "ttnoded");
            Assert.True(code == 0, $"dpkg --purge exited {code}\n{o}\n{e}");
            await Machine.AssertNothingLeftAsync(files);
        }
        finally
        {
            if (daemon is { HasExited: false }) { daemon.Kill(); await daemon.WaitForExitAsync(); }
            daemon?.Dispose();
            await Machine.PurgeAsync();
        }
    }
}
