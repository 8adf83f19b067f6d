using System.Diagnostics;
using System.Text.Json;
using TestSupport;
using Ttnoded.Tests.Jobs;

namespace Ttnoded.Tests.OpenAi;

/// <summary>
/// The official `openai` npm client (pinned in tests/openai-client/package-lock.json) against /v1 over the Unix socket:
/// models, completions, chat, streaming with usage, and its typed errors. Needs node and npm; skips only when node is absent.
/// </summary>
public sealed class OpenAiClientTests
{
    private static string ClientDir => Path.Combine(RepoPaths.Root, "tests", "openai-client");

    private static string? Which(string exe) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, exe)).FirstOrDefault(File.Exists);

    private static async Task<(int Code, string Out, string Err)> RunAsync(string exe, string workDir, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{exe} {string.Join(' ', args)} took longer than {timeout}"); }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>`npm ci` once per test run (the lockfile pins openai and everything under it).</summary>
    private static readonly Lazy<Task> Installed = new(async () =>
    {
        if (File.Exists(Path.Combine(ClientDir, "node_modules", "openai", "package.json"))) return;
        string npm = Which("npm") ?? throw new InvalidOperationException("node is installed but npm is not: install npm (scripts/deps)");
        var (code, o, e) = await RunAsync(npm, ClientDir, TimeSpan.FromMinutes(5), "ci", "--no-audit", "--no-fund");
        if (code != 0) throw new InvalidOperationException($"npm ci failed ({code}): {o}\n{e}");
    });

    [SkippableNodeFact]
    public async Task The_openai_npm_client_speaks_to_v1_over_the_unix_socket()
    {
        await Installed.Value;
        await using var node = new InProcessNode();
        var (code, stdout, stderr) = await RunAsync(Which("node")!, ClientDir, TimeSpan.FromMinutes(3), "client.mjs", node.Paths.SocketPath, InProcessNode.Model);
        Assert.True(code == 0, $"client.mjs exited {code}\nstdout: {stdout}\nstderr: {stderr}");
        using var doc = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var r = doc.RootElement;

        Assert.Equal(InProcessNode.Model, Assert.Single(r.GetProperty("models").EnumerateArray()).GetString());

        var c = r.GetProperty("completion");
        Assert.Equal("text_completion", c.GetProperty("object").GetString());
        int tokens = c.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        if (c.GetProperty("finish").GetString() == "length") Assert.Equal(12, tokens); else Assert.InRange(tokens, 1, 12);
        Assert.Equal(c.GetProperty("text").GetString(), r.GetProperty("completionStream").GetString());

        var chat = r.GetProperty("chat");
        Assert.Equal("assistant", chat.GetProperty("role").GetString());
        var s = r.GetProperty("stream");
        Assert.Equal(chat.GetProperty("content").GetString(), s.GetProperty("text").GetString());
        Assert.Equal(chat.GetProperty("finish").GetString(), s.GetProperty("finish").GetString());
        Assert.Equal(chat.GetProperty("usage").GetProperty("total_tokens").GetInt32(), s.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.True(s.GetProperty("chunks").GetInt32() >= 3);

        var lps = r.GetProperty("logprobs").EnumerateArray().ToList(); // the SDK parsed the logprobs object
        Assert.InRange(lps.Count, 1, 6);
        Assert.All(lps, t =>
        {
            Assert.True(t.GetProperty("logprob").GetDouble() <= 0);
            Assert.Equal(2, t.GetProperty("top").GetArrayLength());
            Assert.Equal(t.GetProperty("token").GetString(), t.GetProperty("top")[0].GetString()); // greedy picks the likeliest
        });

        var err = r.GetProperty("error");
        Assert.Equal(400, err.GetProperty("status").GetInt32());
        Assert.Equal("logit_bias", err.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", err.GetProperty("type").GetString());
        var missing = r.GetProperty("missing");
        Assert.Equal(404, missing.GetProperty("status").GetInt32());
        Assert.Equal("model_not_found", missing.GetProperty("code").GetString());
    }
}

/// <summary>A fact that is skipped, with the reason, only when node is not installed (CI has it).</summary>
public sealed class SkippableNodeFactAttribute : FactAttribute
{
    public SkippableNodeFactAttribute()
    {
        bool hasNode = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(d => File.Exists(Path.Combine(d, "node")));
        if (!hasNode) Skip = "node is not installed: the openai npm client test needs node and npm (scripts/deps installs them)";
    }
}
