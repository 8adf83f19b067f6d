using System.CommandLine;
using TtProtocol.Hardware;

namespace Ttctl.Commands;

/// <summary>`ttctl node check [--json]`: the host checks (GET /api/v1/node/checks); exit 0 when none fails, 1 when any does.</summary>
public static class NodeCheckCommand
{
    /// <summary>The `check` subcommand of `node`.</summary>
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var cmd = new Command("check", "Run the host checks (driver, hugepages, IOMMU, firmware, …); exit 1 if any fails") { json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var r = await client.GetAsync("api/v1/node/checks", HardwareJsonContext.Default.NodeCheckResponse, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) Output.Json(r, HardwareJsonContext.Default.NodeCheckResponse);
            else Output.Table(Headers, Rows(r));
            return ExitCode(r);
        }));
        return cmd;
    }

    /// <summary>Table headers.</summary>
    public static readonly string[] Headers = ["CHECK", "STATUS", "OBSERVED", "FIX"];

    /// <summary>One row per check.</summary>
    public static IEnumerable<IReadOnlyList<string>> Rows(NodeCheckResponse r) =>
        r.Checks.Select(c => (IReadOnlyList<string>)[c.Name, Status(c.Status), c.Observed, c.Fix]);

    /// <summary>0 when no check fails (warnings pass), 1 otherwise.</summary>
    public static int ExitCode(NodeCheckResponse r) =>
        r.Checks.Any(c => c.Status == CheckStatus.Fail) ? ExitCodes.Failure : ExitCodes.Ok;

    private static string Status(CheckStatus s) => s switch { CheckStatus.Ok => "ok", CheckStatus.Warn => "WARN", _ => "FAIL" };
}
