using System.CommandLine;
using TtProtocol;

namespace Ttctl.Commands;

/// <summary>`ttctl node ...`: the node's state (`status`) and host checks (`check`).</summary>
internal static class NodeCommand
{
    public static Command Create()
    {
        var node = new Command("node", "Node status and health checks");
        node.Subcommands.Add(Status());
        node.Subcommands.Add(NodeCheckCommand.Create());
        return node;
    }

    private static Command Status()
    {
        var json = GlobalOptions.Json();
        var cmd = new Command("status", "Show the daemon's state, version and uptime") { json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var n = await client.GetAsync("api/v1/node", ApiJsonContext.Default.NodeResponse, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) { Output.Json(n, ApiJsonContext.Default.NodeResponse); return ExitCodes.Ok; }
            var hw = await client.GetAsync("api/v1/node/hardware", TtProtocol.Hardware.HardwareJsonContext.Default.NodeHardwareInfo, ct).ConfigureAwait(false);
            Output.Fields([
                ("node", n.Hostname),
                ("state", n.State),
                ("status", n.StatusText),
                ("version", n.Version),
                ("uptime", TimeSpan.FromSeconds(Math.Round(n.UptimeSeconds)).ToString()),
                ("sysroot", n.Sysroot),
                ("state dir", n.StateDir),
                ("you", $"uid {n.Caller.Uid}, gid {n.Caller.Gid}{(n.Caller.Admin ? ", admin" : "")}"),
                ("driver", hw.DriverVersion ?? "not loaded"),
                ("cards", $"{hw.Boards} boards, {hw.Chips} chips{(hw.SystemClass is null ? "" : $" ({hw.SystemClass})")}"),
                ("hardware", hw.Health + (hw.Reasons.Count == 0 ? "" : ": " + string.Join("; ", hw.Reasons))),
            ]);
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
