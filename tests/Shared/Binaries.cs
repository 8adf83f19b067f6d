using System.Diagnostics;

namespace TestSupport;

/// <summary>
/// How to start ttnoded and ttctl: the shipped native-AOT binary when scripts/test has published it (artifacts/bin),
/// otherwise the JIT build next to the tests (`dotnet ttnoded.dll`), so a plain `dotnet test` works too.
/// </summary>
public static class Binaries
{
    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> args)
    {
        string aot = Path.Combine(RepoPaths.BinDir, program);
        string jit = Path.Combine(AppContext.BaseDirectory, program + ".dll");
        ProcessStartInfo psi;
        // The AOT binary is the product; a developer's stale one (older than the build next to the tests) is skipped.
        if (File.Exists(aot) && (!File.Exists(jit) || File.GetLastWriteTimeUtc(aot) >= File.GetLastWriteTimeUtc(jit)))
        {
            psi = new ProcessStartInfo(aot);
        }
        else
        {
            string dll = Path.Combine(AppContext.BaseDirectory, program + ".dll");
            if (!File.Exists(dll)) throw new FileNotFoundException($"neither {aot} nor {dll} exists: run scripts/test or build the solution");
            psi = new ProcessStartInfo("dotnet");
            psi.ArgumentList.Add(dll);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        psi.Environment.Remove("NOTIFY_SOCKET");
        psi.Environment.Remove("LISTEN_FDS");
        psi.Environment.Remove("LISTEN_PID");
        psi.Environment.Remove("JOURNAL_STREAM");
        psi.Environment["TTCTL_SOCKET"] = "";
        return psi;
    }

    /// <summary>Wraps a start info so the program runs as another user (setpriv; the tests run as root on CI).</summary>
    public static ProcessStartInfo AsUser(ProcessStartInfo inner, uint uid, uint gid)
    {
        var psi = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { $"--reuid={uid}", $"--regid={gid}", "--clear-groups", "--", inner.FileName }) psi.ArgumentList.Add(a);
        foreach (var a in inner.ArgumentList) psi.ArgumentList.Add(a);
        foreach (var (k, v) in inner.Environment) psi.Environment[k] = v;
        psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
        psi.Environment["HOME"] = "/tmp";
        return psi;
    }

    public static bool IsRoot => Environment.UserName == "root" || GetUid() == 0;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getuid")]
    private static extern uint GetUid();

    /// <summary>Runs a process to completion; returns exit code, stdout and stderr.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(ProcessStartInfo psi, TimeSpan? timeout = null, string? stdin = null)
    {
        using var p = Process.Start(psi)!;
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(true); throw new TimeoutException($"{psi.FileName} did not finish in time"); }
        return (p.ExitCode, await o, await e);
    }

    public static Task<(int Code, string Out, string Err)> RunAsync(string program, params string[] args) =>
        RunAsync(StartInfo(program, args));
}
