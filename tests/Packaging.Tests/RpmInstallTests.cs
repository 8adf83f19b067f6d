namespace Packaging.Tests;

/// <summary>
/// The .rpm installed for real with rpm into a private root (this Debian machine's own database stays untouched):
/// what it installs runs, <c>rpm -V</c> accepts it, an operator's edited config survives removal, nothing else does.
/// Scriptlets cannot run there (no /bin/sh inside the root); the deb test covers the same steps with them.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed class RpmInstallTests(PackagesFixture pkg)
{
    // Directories a distribution's filesystem/systemd packages own: left after removal by design.
    private static readonly string[] SystemDirs =
    [
        "etc", "usr", "usr/bin", "usr/lib", "usr/lib/systemd", "usr/lib/systemd/system", "usr/lib/sysusers.d", "usr/lib/tmpfiles.d",
        "usr/share", "usr/share/doc", "usr/share/licenses", "usr/share/man", "usr/share/man/man1", "usr/share/man/man8",
    ];

    [Fact]
    public async Task Rpm_installs_into_a_root_verifies_keeps_an_edited_config_and_erases_everything_else()
    {
        string root = Directory.CreateTempSubdirectory("ttpkg-rpmroot-").FullName;
        try
        {
            await Rpm(root, "--initdb");
            await Rpm(root, "-i", "--nodeps", "--noscripts", pkg.Rpm);
            Assert.Equal($"ttnoded-{pkg.Version}-1.x86_64", (await Rpm(root, "-q", "ttnoded")).Trim());

            // the binaries run from where the package puts them, and the commands on PATH point there
            string ttctl = Path.Combine(root, "usr/lib/ttnoded/ttctl");
            Assert.StartsWith(pkg.Version, (await Sh.OkAsync(ttctl, "--version")).Trim(), StringComparison.Ordinal);
            Assert.Equal("../lib/ttnoded/ttctl", new FileInfo(Path.Combine(root, "usr/bin/ttctl")).LinkTarget);
            Assert.Equal("../lib/ttnoded/ttnoded", new FileInfo(Path.Combine(root, "usr/bin/ttnoded")).LinkTarget);
            Assert.True(File.Exists(Path.Combine(root, "usr/lib/ttnoded/libe_sqlite3.so")));

            await Rpm(root, "-V", "--nodeps", "ttnoded"); // every file's size, digest, mode and owner as packaged

            string config = Path.Combine(root, "etc/ttnoded/ttnoded.json");
            File.AppendAllText(config, "\n");
            var (code, o, _) = await Sh.RunAsync("rpm", ["--root", root, "-V", "--nodeps", "ttnoded"]);
            Assert.True(code != 0 && o.Contains("/etc/ttnoded/ttnoded.json", StringComparison.Ordinal), $"rpm -V missed the edited config:\n{o}");

            await Rpm(root, "-e", "--noscripts", "ttnoded");
            Assert.True(File.Exists(config + ".rpmsave"), "the edited config was not kept as .rpmsave");
            var left = Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(root, p))
                .Where(p => !p.StartsWith("root", StringComparison.Ordinal) && !p.StartsWith("var", StringComparison.Ordinal)) // rpm's own database
                .Except(SystemDirs).Except(["etc/ttnoded", "etc/ttnoded/ttnoded.json.rpmsave"])
                .Order().ToList();
            Assert.True(left.Count == 0, "left behind after rpm -e:\n" + string.Join('\n', left));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    private static async Task<string> Rpm(string root, params string[] args)
    {
        var (code, o, e) = await Sh.RunAsync("rpm", ["--root", root, .. args]);
        Assert.True(code == 0, $"rpm --root {root} {string.Join(' ', args)} exited {code}\n{o}\n{e}");
        return o;
    }
}
