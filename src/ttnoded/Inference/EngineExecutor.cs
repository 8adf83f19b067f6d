using TtEngine.Model;
using Ttnoded.Jobs;
using EngineChat = TtEngine.Chat.ChatMessage;
using EngineSampling = TtEngine.Sampling.SamplingOptions;

namespace Ttnoded.Inference;

/// <summary>Runs jobs on the built-in Llama engine: takes the model's turn, generates, streams text into the sink.</summary>
public sealed class EngineExecutor(ModelPool models) : IJobExecutor
{
    /// <summary>Default when a job gives no max tokens.</summary>
    public const int DefaultMaxTokens = 256;

    public async Task<ExecutionResult> ExecuteAsync(JobRecord job, IJobSink sink, CancellationToken ct)
    {
        using var lease = await models.AcquireAsync(job.Model, () => sink.OnLoading(job.Model), ct).ConfigureAwait(false);
        var model = lease.Model;
        var options = Options(job);
        // Generation is CPU-bound: keep it off the request threads.
        return await Task.Run(() =>
        {
            GenerationResult r;
            int lastToken = -1;
            Action<string> onText = text => sink.OnText(text, lastToken);
            if (job.Request.Messages is { Length: > 0 } messages)
            {
                var chat = messages.Select(m => new EngineChat(m.Role, m.Content)).ToList();
                sink.OnPrompt(model.Tokenizer.Encode(TtEngine.Chat.ChatTemplate.Apply(model.ChatFormat, chat), addSpecial: false, parseSpecial: true).Length);
                r = model.GenerateChat(chat, options, onText, ct);
            }
            else
            {
                sink.OnPrompt(model.Tokenizer.Encode(job.Request.Prompt ?? "", addSpecial: true).Length);
                r = model.Generate(job.Request.Prompt ?? "", options, onText, ct);
            }
            string finish = r.StopReason switch
            {
                StopReason.Cancelled => "cancelled",
                StopReason.MaxTokens or StopReason.ContextLimit => "length",
                _ => "stop",
            };
            return new ExecutionResult(finish, r.PromptTokens, r.GeneratedTokens,
                r.GeneratedTokens > 0 ? r.TimeToFirstToken.TotalMilliseconds : null,
                r.GeneratedTokens > 1 ? r.TimePerToken.TotalMilliseconds : null);
        }, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Maps a job's sampling request onto the engine's options (null fields keep the engine's defaults).</summary>
    public static GenerationOptions Options(JobRecord job)
    {
        var s = job.Request.Sampling;
        var d = new EngineSampling();
        var sampling = new EngineSampling
        {
            Temperature = s?.Temperature ?? d.Temperature,
            TopK = s?.TopK ?? d.TopK,
            TopP = s?.TopP ?? d.TopP,
            MinP = s?.MinP ?? d.MinP,
            RepeatPenalty = s?.RepetitionPenalty ?? d.RepeatPenalty,
            PresencePenalty = s?.PresencePenalty ?? d.PresencePenalty,
            FrequencyPenalty = s?.FrequencyPenalty ?? d.FrequencyPenalty,
            Seed = s?.Seed,
        };
        return new GenerationOptions
        {
            MaxTokens = job.Request.MaxTokens ?? DefaultMaxTokens,
            Sampling = sampling,
            StopStrings = s?.Stop ?? [],
            StopOnEndOfGeneration = s?.IgnoreEos != true,
        };
    }
}
