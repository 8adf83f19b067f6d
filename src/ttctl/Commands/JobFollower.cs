using System.Text.Json;
using Ttctl.Client;
using TtProtocol.Jobs;

namespace Ttctl.Commands;

/// <summary>Follows a job's Server-Sent Events: text to stdout as it comes, the final state to stderr.</summary>
internal static class JobFollower
{
    /// <summary>Returns the exit code: 0 succeeded, 1 failed or cancelled.</summary>
    public static async Task<int> FollowAsync(DaemonClient client, long id, bool json, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(HttpMethod.Get, $"api/v1/jobs/{id}/events");
        using var resp = await client.SendRawAsync(req, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        await using var stream = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var reader = new StreamReader(stream);
        var stdout = Console.Out;
        string? finalState = null, finalReason = null;
        bool wroteText = false;
        string? line;
        while ((line = await reader.ReadLineAsync(ct).ConfigureAwait(false)) is not null)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            string data = line[6..];
            if (json) { await stdout.WriteLineAsync(data).ConfigureAwait(false); }
            JobEvent? e;
            try { e = JsonSerializer.Deserialize(data, JobsJsonContext.Default.JobEvent); }
            catch (JsonException) { continue; }
            if (e is null) continue;
            if (e.Type == "token" && e.Text is not null && !json)
            {
                await stdout.WriteAsync(e.Text).ConfigureAwait(false);
                await stdout.FlushAsync(ct).ConfigureAwait(false);
                wroteText = true;
            }
            else if (e.Type == "state" && e.State is not null && JobStates.IsFinished(e.State))
            {
                finalState = e.State;
                finalReason = e.Reason;
            }
        }
        if (!json && wroteText) await stdout.WriteLineAsync().ConfigureAwait(false);
        if (finalState is null) throw new CliException(ExitCodes.DaemonError, $"the event stream of job {id} ended before the job did");
        if (!json) Console.Error.WriteLine($"job {id} {finalState}{(finalReason is null ? "" : $" ({finalReason})")}");
        return finalState == JobStates.Succeeded ? ExitCodes.Ok : ExitCodes.Failure;
    }
}
