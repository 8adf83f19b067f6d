using System.CommandLine;
using TtProtocol.Jobs;

namespace Ttctl.Commands;

/// <summary>`ttctl cancel JOB`: cancel one of your jobs (admins: anyone's).</summary>
internal static class CancelCommand
{
    public static Command Create()
    {
        var job = new Argument<string>("job") { Description = "job id" };
        var cmd = new Command("cancel", "Cancel a queued or running job") { job };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            long id = JobFormat.ParseId(pr.GetValue(job)!);
            using var req = new HttpRequestMessage(HttpMethod.Delete, $"api/v1/jobs/{id}");
            var j = await client.SendAsync(req, JobsJsonContext.Default.JobInfo, ct).ConfigureAwait(false);
            Console.Out.WriteLine($"job {j.Id} {(j.State == JobStates.Running ? "cancelling" : j.State)}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
