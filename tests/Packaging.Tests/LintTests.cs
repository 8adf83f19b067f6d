using System.Globalization;
using System.Text.RegularExpressions;
using TestSupport;

namespace Packaging.Tests;

/// <summary>The built packages pass the distributions' own checkers; the units pass systemd's.</summary>
[Collection(PackagesCollection.Name)]
public sealed class LintTests(PackagesFixture pkg)
{
    [Fact]
    public async Task Deb_has_no_lintian_errors_or_warnings()
    {
        var (code, o, e) = await Sh.RunAsync("lintian", ["--fail-on", "error,warning", pkg.Deb], TimeSpan.FromMinutes(3));
        var findings = (o + e).Split('\n').Where(l => Regex.IsMatch(l, "^[EW]: ")).ToList();
        Assert.True(code == 0 && findings.Count == 0, $"lintian exited {code}:\n{string.Join('\n', findings)}\n{o}");
    }

    [Fact]
    public async Task Rpm_has_no_rpmlint_errors()
    {
        var (code, o, e) = await Sh.RunAsync("rpmlint", ["-c", Path.Combine(pkg.Tools, "rpm", "rpmlint.toml"), pkg.Rpm]);
        Assert.True(code == 0, $"rpmlint exited {code}\n{o}\n{e}");
        Assert.Contains(" 0 errors,", o, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Units_pass_systemd_analyze_verify_and_exposure_is_at_most_2()
    {
        // verify insists that ExecStart's binary exists: point it at the built one (the unit is otherwise unchanged).
        string dir = Directory.CreateTempSubdirectory("ttpkg-units-").FullName;
        try
        {
            string unitDir = Path.Combine(pkg.Tools, "systemd");
            File.WriteAllText(Path.Combine(dir, "ttnoded.service"), File.ReadAllText(Path.Combine(unitDir, "ttnoded.service"))
                .Replace("ExecStart=/usr/bin/ttnoded", "ExecStart=" + Path.Combine(RepoPaths.BinDir, "ttnoded"), StringComparison.Ordinal));
            File.Copy(Path.Combine(unitDir, "ttnoded.socket"), Path.Combine(dir, "ttnoded.socket"));
            var (code, o, e) = await Sh.RunAsync("systemd-analyze", ["verify", "--man=no", "./ttnoded.service", "./ttnoded.socket"], cwd: dir);
            Assert.True(code == 0 && e.Trim().Length == 0, $"systemd-analyze verify exited {code}\n{o}\n{e}");

            (code, o, e) = await Sh.RunAsync("systemd-analyze", ["security", "--offline=yes", "./ttnoded.service"], cwd: dir);
            var m = Regex.Match(o, @"Overall exposure level for ttnoded\.service: (\d+\.\d+)");
            Assert.True(m.Success, $"no exposure level in:\n{o}\n{e}");
            double score = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.True(score <= 2.0, $"exposure {score} > 2.0:\n{o}");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Deb_dependencies_are_computed_and_the_config_is_a_conffile()
    {
        string depends = await Sh.OkAsync("dpkg-deb", "-f", pkg.Deb, "Depends");
        Assert.Matches(@"libc6 \(>= 2\.\d+\)", depends);
        Assert.Contains("libsystemd0", depends, StringComparison.Ordinal);
        string conffiles = await Sh.OkAsync("dpkg-deb", "--info", pkg.Deb, "conffiles");
        Assert.Equal("/etc/ttnoded/ttnoded.json", conffiles.Trim());
        string requires = await Sh.OkAsync("rpm", "-qpR", pkg.Rpm);
        Assert.Contains("libc.so.6(GLIBC_2.34)(64bit)", requires, StringComparison.Ordinal);
        Assert.Contains("libsystemd.so.0(LIBSYSTEMD_209)(64bit)", requires, StringComparison.Ordinal);
        string configs = await Sh.OkAsync("rpm", "-qpc", pkg.Rpm);
        Assert.Equal("/etc/ttnoded/ttnoded.json", configs.Trim());
    }

    [Fact]
    public async Task Man_pages_describe_every_flag_and_command_the_binaries_have()
    {
        string dir = Directory.CreateTempSubdirectory("ttpkg-man-").FullName;
        try
        {
            await Sh.OkAsync("dpkg-deb", "-x", pkg.Deb, dir);
            string ttnoded8 = (await Sh.OkAsync("sh", "-c", $"zcat {dir}/usr/share/man/man8/ttnoded.8.gz")).Replace("\\-", "-", StringComparison.Ordinal);
            string help = await Sh.OkAsync(Path.Combine(dir, "usr/lib/ttnoded/ttnoded"), "--help");
            foreach (Match flag in Regex.Matches(help, @"--[a-z-]+")) Assert.Contains(flag.Value, ttnoded8, StringComparison.Ordinal);
            string ttctl1 = (await Sh.OkAsync("sh", "-c", $"zcat {dir}/usr/share/man/man1/ttctl.1.gz")).Replace("\\-", "-", StringComparison.Ordinal);
            string rootHelp = await Sh.OkAsync(Path.Combine(dir, "usr/lib/ttnoded/ttctl"), "--help");
            foreach (Match verb in Regex.Matches(rootHelp[rootHelp.IndexOf("Commands:", StringComparison.Ordinal)..], @"(?m)^  ([a-z]+)\s"))
                Assert.Contains(".SS " + verb.Groups[1].Value, ttctl1, StringComparison.Ordinal);
            var (code, _, err) = await Sh.RunAsync("man", "--warnings", "-l", "-Tutf8", $"{dir}/usr/share/man/man1/ttctl.1.gz");
            Assert.True(code == 0 && err.Trim().Length == 0, "man warnings: " + err);
        }
        finally { Directory.Delete(dir, true); }
    }
}
