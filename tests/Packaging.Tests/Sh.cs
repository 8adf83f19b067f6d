using System.Diagnostics;
using TestSupport;

namespace Packaging.Tests;

/// <summary>Runs the real tools (dpkg, lintian, rpmlint, systemd-analyze, the build scripts) and captures their output.</summary>
internal static class Sh
{
    public static async Task<(int Code, string Out, string Err)> RunAsync(string file, IEnumerable<string> args,
        TimeSpan? timeout = null, IDictionary<string, string>? env = null, string? cwd = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = cwd ?? RepoPaths.Root,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        psi.Environment.Remove("NOTIFY_SOCKET");
        psi.Environment.Remove("LISTEN_FDS");
        psi.Environment.Remove("TTCTL_SOCKET");
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return await Binaries.RunAsync(psi, timeout ?? TimeSpan.FromMinutes(2));
    }

    public static Task<(int Code, string Out, string Err)> RunAsync(string file, params string[] args) => RunAsync(file, args, null);

    /// <summary>Runs and asserts exit code 0, returning stdout.</summary>
    public static async Task<string> OkAsync(string file, params string[] args)
    {
        var (code, o, e) = await RunAsync(file, args);
        Assert.True(code == 0, $"{file} {string.Join(' ', args)} exited {code}\n{o}\n{e}");
        return o;
    }

    public static bool Exists(string path) => File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;
}
