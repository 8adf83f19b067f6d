using System.CommandLine;
using TtProtocol.Jobs;

namespace Ttctl.Commands;

/// <summary>`ttctl logs JOB [--follow]`: a job's output so far, or streamed until it ends.</summary>
internal static class LogsCommand
{
    public static Command Create()
    {
        var job = new Argument<string>("job") { Description = "job id" };
        var follow = new Option<bool>("--follow", "-f") { Description = "keep streaming until the job ends" };
        var cmd = new Command("logs", "Print a job's output") { job, follow };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            long id = JobFormat.ParseId(pr.GetValue(job)!);
            if (pr.GetValue(follow)) return await JobFollower.FollowAsync(client, id, json: false, ct).ConfigureAwait(false);
            var j = await client.GetAsync($"api/v1/jobs/{id}", JobsJsonContext.Default.JobInfo, ct).ConfigureAwait(false);
            Console.Out.Write(j.Output ?? "");
            if (!string.IsNullOrEmpty(j.Output) && !j.Output.EndsWith('\n')) Console.Out.WriteLine();
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
