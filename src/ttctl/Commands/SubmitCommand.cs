using System.CommandLine;
using System.Text.Json;
using Ttctl.Client;
using TtProtocol.Jobs;

namespace Ttctl.Commands;

/// <summary>`ttctl submit`: queue an inference job; prints its id, or streams its output with --follow.</summary>
internal static class SubmitCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "model name (as in `ttctl model list`)", Required = true };
        var prompt = new Option<string?>("--prompt", "-p") { Description = "prompt text" };
        var promptFile = new Option<string?>("--prompt-file") { Description = "read the prompt from this file" };
        var chat = new Option<string?>("--chat") { Description = "JSON file with chat messages: [{\"role\":\"user\",\"content\":\"...\"}]" };
        var maxTokens = new Option<int?>("--max-tokens", "-n") { Description = "most tokens to generate" };
        var temp = new Option<float?>("--temp") { Description = "sampling temperature (0 = greedy)" };
        var topK = new Option<int?>("--top-k") { Description = "top-k sampling" };
        var topP = new Option<float?>("--top-p") { Description = "top-p (nucleus) sampling" };
        var seed = new Option<ulong?>("--seed") { Description = "sampling seed (same seed + same input = same output)" };
        var priority = new Option<int?>("--priority") { Description = "0-100, default 10; higher runs first" };
        var project = new Option<string?>("--project") { Description = "project (a group you belong to); default your primary group" };
        var alloc = new Option<string?>("--alloc") { Description = "run on the cards of this allocation" };
        var follow = new Option<bool>("--follow", "-f") { Description = "stream the output until the job ends" };
        var json = GlobalOptions.Json();
        var cmd = new Command("submit", "Submit an inference job") { model, prompt, promptFile, chat, maxTokens, temp, topK, topP, seed, priority, project, alloc, follow, json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            int given = (pr.GetValue(prompt) is null ? 0 : 1) + (pr.GetValue(promptFile) is null ? 0 : 1) + (pr.GetValue(chat) is null ? 0 : 1);
            if (given != 1) throw new CliException(ExitCodes.Usage, "give exactly one of --prompt, --prompt-file or --chat");
            string? text = pr.GetValue(prompt);
            if (pr.GetValue(promptFile) is { } pf) text = ReadFile(pf);
            ChatMessage[]? messages = null;
            if (pr.GetValue(chat) is { } cf)
            {
                try { messages = JsonSerializer.Deserialize(ReadFile(cf), JobsJsonContext.Default.ChatMessageArray); }
                catch (JsonException e) { throw new CliException(ExitCodes.Usage, $"{cf}: not a JSON array of messages: {e.Message}"); }
            }
            var req = new JobSubmitRequest
            {
                Model = pr.GetValue(model)!, Prompt = text, Messages = messages, MaxTokens = pr.GetValue(maxTokens),
                Priority = pr.GetValue(priority), Project = pr.GetValue(project), Allocation = pr.GetValue(alloc),
                Sampling = new SamplingOptions { Temperature = pr.GetValue(temp), TopK = pr.GetValue(topK), TopP = pr.GetValue(topP), Seed = pr.GetValue(seed) },
            };
            var info = await client.PostAsync("api/v1/jobs", req, JobsJsonContext.Default.JobSubmitRequest, JobsJsonContext.Default.JobInfo, ct).ConfigureAwait(false);
            if (pr.GetValue(follow))
            {
                if (!pr.GetValue(json)) Console.Error.WriteLine($"job {info.Id} queued (position {info.QueuePosition?.ToString() ?? "-"})");
                return await JobFollower.FollowAsync(client, info.Id, pr.GetValue(json), ct).ConfigureAwait(false);
            }
            if (pr.GetValue(json)) Output.Json(info, JobsJsonContext.Default.JobInfo);
            else Console.Out.WriteLine(info.Id);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static string ReadFile(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliException(ExitCodes.Usage, $"{path}: {e.Message}"); }
    }
}
