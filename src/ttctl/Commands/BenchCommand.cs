using System.CommandLine;
using System.Globalization;
using Ttctl.Bench;
using Ttctl.Client;

namespace Ttctl.Commands;

/// <summary>
/// `ttctl bench`: measures the node through its OpenAI endpoint (streamed /v1/completions) over a grid of concurrency ×
/// input length × output length; prints TTFT/TPOT percentiles, throughput and the recommendation matrix.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = "model to measure (default: the first registered)" };
        var concurrency = new Option<string>("--concurrency", "-c") { Description = "concurrent clients, comma-separated", DefaultValueFactory = _ => "1,2,4,8" };
        var isl = new Option<string>("--isl") { Description = "input lengths in tokens, comma-separated", DefaultValueFactory = _ => "128,2048,4096" };
        var osl = new Option<string>("--osl") { Description = "output lengths in tokens, comma-separated", DefaultValueFactory = _ => "128,512,1024" };
        var duration = new Option<double>("--duration") { Description = "seconds per cell (each client finishes its request in flight)", DefaultValueFactory = _ => 30 };
        var json = GlobalOptions.Json();
        var output = new Option<string?>("--output", "-o") { Description = "also write the Markdown report to this file" };
        var cmd = new Command("bench", "Benchmark the node through its OpenAI-compatible API (TTFT, TPOT, throughput)")
            { model, concurrency, isl, osl, duration, json, output };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var concs = Ints(pr.GetValue(concurrency)!, "--concurrency");
            var isls = Ints(pr.GetValue(isl)!, "--isl");
            var osls = Ints(pr.GetValue(osl)!, "--osl");
            double seconds = pr.GetValue(duration);
            if (seconds is <= 0 or > 86_400) throw new CliException(ExitCodes.Usage, $"--duration must be in (0, 86400] seconds, got {seconds}");
            bool asJson = pr.GetValue(json);
            void Progress(string line) { if (!asJson) Console.Error.WriteLine(line); }

            var runner = new BenchRunner(client, Progress);
            var (name, context) = await runner.ResolveModelAsync(pr.GetValue(model), ct).ConfigureAwait(false);
            var report = new BenchReport
            {
                Model = name, ContextLength = context, StartedAt = DateTimeOffset.UtcNow, DurationPerCellSeconds = seconds,
                Method = "Streamed /v1/completions with ignore_eos (exactly OSL tokens), temperature 0, synthetic prompts of ISL tokens; " +
                         "TTFT = send → first text chunk, TPOT = (latency − TTFT) / (OSL − 1) with latency = send → [DONE] (as vLLM bench serve); " +
                         "prefill tok/s = median of ISL / TTFT; output tok/s = all generated tokens / cell wall time.",
            };
            await runner.CalibrateAsync(name, ct).ConfigureAwait(false);

            var shapes = Shapes(isls, osls, context, report.Notes);
            foreach (var (i, o, iAsked, oAsked, capped) in shapes)
            {
                var (prompt, tokens) = await runner.PromptAsync(name, i, ct).ConfigureAwait(false);
                if (tokens != i) report.Notes.Add($"ISL {i}: the synthetic prompt is {tokens} tokens (the filler word cannot hit {i} exactly)");
                foreach (int c in concs)
                {
                    Progress($"concurrency {c}, ISL {tokens}, OSL {o} ...");
                    var cell = await runner.RunCellAsync(name, prompt, tokens, o, iAsked, oAsked, capped, c, TimeSpan.FromSeconds(seconds), ct).ConfigureAwait(false);
                    report.Cells.Add(cell);
                }
            }
            report.Recommendations.AddRange(BenchMatrix.Fill(report.Cells));

            string md = BenchMarkdown.Render(report);
            if (pr.GetValue(output) is { } path)
            {
                try { await File.WriteAllTextAsync(path, md, ct).ConfigureAwait(false); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliException(ExitCodes.Failure, $"cannot write {path}: {e.Message}"); }
            }
            if (asJson) Output.Json(report, BenchReportJsonContext.Default.BenchReport);
            else Console.Out.Write(md);
            return report.Cells.Any(c => c.Errors > 0) ? ExitCodes.Failure : ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Every (ISL, OSL) pair, capped so ISL + OSL stays within the context (one token spare), deduplicated.</summary>
    internal static List<(int Isl, int Osl, int IslAsked, int OslAsked, bool Capped)> Shapes(int[] isls, int[] osls, int? context, List<string> notes)
    {
        var result = new List<(int, int, int, int, bool)>();
        var seen = new HashSet<(int, int)>();
        foreach (int i in isls)
        {
            foreach (int o in osls)
            {
                int ci = i, co = o;
                if (context is int ctx && i + o > ctx - 1)
                {
                    if (co > (ctx - 1) / 2) co = (ctx - 1) / 2;
                    ci = Math.Min(i, ctx - 1 - co);
                    notes.Add($"ISL {i} + OSL {o} exceeds the model's context of {ctx} tokens: ran ISL {ci}, OSL {co}");
                }
                if (seen.Add((ci, co))) result.Add((ci, co, i, o, ci != i || co != o));
            }
        }
        return result;
    }

    private static int[] Ints(string csv, string option)
    {
        var parts = csv.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new CliException(ExitCodes.Usage, $"{option}: give at least one number");
        return parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v : throw new CliException(ExitCodes.Usage, $"{option}: '{p}' is not a positive whole number")).Distinct().ToArray();
    }
}
