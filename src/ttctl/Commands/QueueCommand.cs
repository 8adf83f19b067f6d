using System.CommandLine;
using TtProtocol.Jobs;

namespace Ttctl.Commands;

/// <summary>`ttctl queue`: what runs now, then the queue in run order (position, user, project, priority, age).</summary>
internal static class QueueCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var cmd = new Command("queue", "Show running jobs and the queue in run order") { json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var list = await client.GetAsync("api/v1/queue", JobsJsonContext.Default.JobList, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) Output.Json(list, JobsJsonContext.Default.JobList);
            else Output.Table(JobFormat.Headers, list.Jobs.Select(JobFormat.Row));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
