using TtEngine.Model;
using Ttnoded.Jobs;
using EngineSampling = TtEngine.Sampling.SamplingOptions;

namespace Ttnoded.Inference;

/// <summary>Runs jobs on the built-in Llama engine: every job on a model joins that model's continuous batch.</summary>
public sealed class EngineExecutor(ModelPool models) : IJobExecutor
{
    /// <summary>Default when a job gives no max tokens.</summary>
    public const int DefaultMaxTokens = 256;

    public async Task<ExecutionResult> ExecuteAsync(JobRecord job, IJobSink sink, CancellationToken ct)
    {
        using var lease = await models.AcquireAsync(job.Model, () => sink.OnLoading(job.Model), ct).ConfigureAwait(false);
        // The request joins the model's running batch at its next step (continuous batching).
        return await lease.Runner.RunAsync(job, Options(job), sink, ct).ConfigureAwait(false);
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
