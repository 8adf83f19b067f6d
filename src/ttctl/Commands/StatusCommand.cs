using System.CommandLine;
using System.Globalization;
using TtProtocol.Jobs;

namespace Ttctl.Commands;

/// <summary>`ttctl status [JOB]`: one job in detail, or your jobs as a table.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var job = new Argument<string?>("job") { Description = "job id (omit for a list of jobs you can see)", Arity = ArgumentArity.ZeroOrOne };
        var state = new Option<string?>("--state") { Description = "only jobs in this state" };
        var json = GlobalOptions.Json();
        var cmd = new Command("status", "Show a job, or the jobs you can see") { job, state, json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            if (pr.GetValue(job) is { } idText)
            {
                long id = JobFormat.ParseId(idText);
                var j = await client.GetAsync($"api/v1/jobs/{id}", JobsJsonContext.Default.JobInfo, ct).ConfigureAwait(false);
                if (pr.GetValue(json)) { Output.Json(j, JobsJsonContext.Default.JobInfo); return ExitCodes.Ok; }
                Output.Fields([
                    ("job", j.Id.ToString(CultureInfo.InvariantCulture)), ("state", j.State + (j.Reason is null ? "" : $" ({j.Reason})")),
                    ("queue position", j.QueuePosition?.ToString(CultureInfo.InvariantCulture) ?? "-"),
                    ("user", $"{j.User} (uid {j.Uid})"), ("project", j.Project), ("model", j.Model), ("priority", j.Priority.ToString(CultureInfo.InvariantCulture)),
                    ("allocation", j.Allocation ?? "-"), ("submitted", j.SubmittedAt.ToString("u", CultureInfo.InvariantCulture)),
                    ("started", j.StartedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-"), ("finished", j.FinishedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-"),
                    ("tokens in/out", $"{j.TokensIn}/{j.TokensOut}"), ("ttft", JobFormat.Ms(j.TtftMs)), ("tpot", JobFormat.Ms(j.TpotMs)),
                ]);
                return ExitCodes.Ok;
            }
            string path = "api/v1/jobs" + (pr.GetValue(state) is { } s ? $"?state={Uri.EscapeDataString(s)}" : "");
            var list = await client.GetAsync(path, JobsJsonContext.Default.JobList, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) Output.Json(list, JobsJsonContext.Default.JobList);
            else Output.Table(JobFormat.Headers, list.Jobs.Select(JobFormat.Row));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
