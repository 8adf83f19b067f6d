namespace Packaging.Tests;

/// <summary>This machine's view of the installed package: owners, modes, users, and "nothing left behind".</summary>
internal static class Machine
{
    /// <summary>Paths the package or its scripts create outside its file list (state, enablement links, helper state).</summary>
    public static readonly string[] RuntimePaths =
    [
        "/etc/ttnoded", "/var/lib/ttnoded", "/var/log/ttnoded", "/run/ttnoded",
        "/etc/systemd/system/multi-user.target.wants/ttnoded.service",
        "/etc/systemd/system/sockets.target.wants/ttnoded.socket",
        "/etc/systemd/system/ttnoded.service", "/etc/systemd/system/ttnoded.socket",
        "/var/lib/systemd/deb-systemd-helper-enabled/ttnoded.service.dsh-also",
        "/var/lib/systemd/deb-systemd-helper-enabled/ttnoded.socket.dsh-also",
        "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/ttnoded.service",
        "/var/lib/systemd/deb-systemd-helper-enabled/sockets.target.wants/ttnoded.socket",
        "/var/lib/systemd/deb-systemd-helper-masked/ttnoded.service",
        "/var/lib/systemd/deb-systemd-helper-masked/ttnoded.socket",
    ];

    public static async Task<bool> InstalledAsync() =>
        (await Sh.RunAsync("dpkg-query", "-W", "-f=${Status}", "ttnoded")).Out.Contains("install ok installed", StringComparison.Ordinal);

    /// <summary>Purges the package (its prerm also stops a ttnoded started without systemd).</summary>
    public static async Task PurgeAsync() => await Sh.RunAsync("dpkg", "--purge", "ttnoded");

    public static async Task<string> OwnerModeAsync(string path) => (await Sh.OkAsync("stat", "-c", "%U:%G %a", path)).Trim();

    public static async Task<bool> UserExistsAsync(string name) => (await Sh.RunAsync("getent", "passwd", name)).Code == 0;

    public static async Task<bool> GroupExistsAsync(string name) => (await Sh.RunAsync("getent", "group", name)).Code == 0;

    /// <summary>The non-directory paths in a .deb (files and symlinks), as installed paths.</summary>
    public static async Task<List<string>> DebFilesAsync(string deb)
    {
        var (_, o, _) = await Sh.RunAsync("dpkg-deb", "-c", deb);
        return o.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith('d'))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[5].TrimStart('.'))
            .ToList();
    }

    /// <summary>Asserts the package and everything it made are gone.</summary>
    public static async Task AssertNothingLeftAsync(IEnumerable<string> packageFiles)
    {
        Assert.False(await InstalledAsync(), "ttnoded is still installed");
        var left = packageFiles.Concat(RuntimePaths).Where(Sh.Exists).ToList();
        Assert.True(left.Count == 0, "left behind: " + string.Join(", ", left));
        Assert.False(await UserExistsAsync("ttnode"), "user ttnode left behind");
        Assert.False(await GroupExistsAsync("ttnode"), "group ttnode left behind");
        Assert.False(await GroupExistsAsync("ttadmin"), "group ttadmin left behind");
    }
}
