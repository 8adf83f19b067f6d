using System.CommandLine;
using System.Globalization;
using TtEngine.Chat;
using TtEngine.Gguf;
using TtEngine.Model;
using TtEngine.Sampling;

namespace Ttctl.Commands;

/// <summary>
/// `ttctl engine run --gguf FILE [-p PROMPT] [-n N] [--temp T] [--seed S] [--threads T] [--chat]`: loads the model,
/// streams the generated text to stdout and prints prompt/generation speed to stderr. Ctrl+C stops between tokens.
/// </summary>
internal static class EngineRunCommand
{
    public static Command Create()
    {
        var gguf = new Option<string>("--gguf") { Description = "GGUF model file (architecture llama)", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "prompt text", DefaultValueFactory = _ => "" };
        var n = new Option<int>("-n", "--max-tokens") { Description = "tokens to generate", DefaultValueFactory = _ => 128 };
        var temp = new Option<float>("--temp") { Description = "temperature (0 = greedy)", DefaultValueFactory = _ => 0.8f };
        var seed = new Option<ulong?>("--seed") { Description = "sampling seed (same seed, same output)" };
        var threads = new Option<int>("--threads") { Description = "worker threads (0 = one per core)", DefaultValueFactory = _ => 0 };
        var chat = new Option<bool>("--chat") { Description = "wrap the prompt as a user message in the model's chat format" };
        var cmd = new Command("run", "Generate text with the built-in engine") { gguf, prompt, n, temp, seed, threads, chat };
        cmd.SetAction((pr, ct) => Task.FromResult(Run(pr.GetValue(gguf)!, pr.GetValue(prompt) ?? "", pr.GetValue(n), pr.GetValue(temp),
            pr.GetValue(seed), pr.GetValue(threads), pr.GetValue(chat), ct)));
        return cmd;
    }

    private static int Run(string path, string prompt, int maxTokens, float temperature, ulong? seed, int threads, bool chat, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"ttctl: '{path}': no such file");
            return ExitCodes.Usage;
        }
        if (maxTokens < 0 || threads < 0 || temperature < 0 || float.IsNaN(temperature))
        {
            Console.Error.WriteLine("ttctl: -n, --threads and --temp must not be negative");
            return ExitCodes.Usage;
        }
        if (!EngineCommand.TryLoad(path, threads, out var model)) return ExitCodes.Usage;
        using (model)
        {
            var options = new GenerationOptions
            {
                MaxTokens = maxTokens,
                Sampling = temperature == 0
                    ? SamplingOptions.Greedy
                    : new SamplingOptions { Temperature = temperature, Seed = seed },
            };
            var stdout = Console.Out;
            void Write(string piece)
            {
                stdout.Write(piece);
                stdout.Flush();
            }
            GenerationResult r;
            try
            {
                if (!chat && prompt.Length > 0) Write(prompt);
                r = chat
                    ? model.GenerateChat([new ChatMessage("user", prompt)], options, Write, ct)
                    : model.Generate(prompt, options, Write, ct);
            }
            catch (ContextLimitExceededException e)
            {
                Console.Error.WriteLine($"ttctl: {e.Message}");
                return ExitCodes.Usage;
            }
            stdout.WriteLine();
            var inv = CultureInfo.InvariantCulture;
            Console.Error.WriteLine(string.Format(inv,
                "prompt: {0} tokens in {1:F1} ms ({2:F1} tok/s); generation: {3} tokens, {4:F1} tok/s ({5:F2} ms/token); TTFT {6:F1} ms; stop: {7}; threads {8}",
                r.PromptTokens, r.PromptDuration.TotalMilliseconds, r.PromptTokensPerSecond, r.GeneratedTokens,
                r.GenerationTokensPerSecond, r.TimePerToken.TotalMilliseconds, r.TimeToFirstToken.TotalMilliseconds,
                r.StopReason, model.Threads));
            return r.StopReason == StopReason.Cancelled ? 130 : ExitCodes.Ok;
        }
    }
}
