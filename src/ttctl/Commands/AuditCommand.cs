using System.CommandLine;
using System.Globalization;
using TtProtocol.Jobs;

namespace Ttctl.Commands;

/// <summary>`ttctl audit`: the append-only log of state-changing requests (yours; admins: everyone's).</summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var limit = new Option<int>("--limit") { Description = "newest entries to show", DefaultValueFactory = _ => 50 };
        var json = GlobalOptions.Json();
        var cmd = new Command("audit", "Show the audit log") { limit, json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var list = await client.GetAsync($"api/v1/audit?limit={pr.GetValue(limit)}", JobsJsonContext.Default.AuditList, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) { Output.Json(list, JobsJsonContext.Default.AuditList); return ExitCodes.Ok; }
            Output.Table(["ID", "WHEN", "USER", "ACTION", "TARGET", "RESULT", "DETAIL"], list.Entries.Select(e => (IReadOnlyList<string>)
            [
                e.Id.ToString(CultureInfo.InvariantCulture), e.At.ToString("u", CultureInfo.InvariantCulture), $"{e.User}({e.Uid})",
                e.Action, e.Target, e.Result, e.Detail,
            ]));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
