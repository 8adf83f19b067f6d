using Ttnoded.Jobs;

namespace Ttnoded.Inference;

/// <summary>Runs one job's inference to the end (or until cancelled), streaming its text into a sink.</summary>
public interface IJobExecutor
{
    Task<ExecutionResult> ExecuteAsync(JobRecord job, IJobSink sink, CancellationToken ct);
}

/// <summary>Receives a job's progress as the engine produces it.</summary>
public interface IJobSink
{
    /// <summary>The prompt is tokenized (and about to be prefilled).</summary>
    void OnPrompt(int tokens);

    /// <summary>The first <paramref name="tokens"/> prompt tokens came from the prefix cache (not prefilled).</summary>
    void OnPrefixReused(int tokens);

    /// <summary>A generated token's log probability (only for jobs that asked); comes before the token's text.</summary>
    void OnLogprob(TtProtocol.Jobs.TokenLogprob logprob);

    /// <summary>A piece of generated text (whole UTF-8 characters only).</summary>
    void OnText(string text, int tokenId);

    /// <summary>The model is being loaded (a job-visible state detail).</summary>
    void OnLoading(string model);
}

/// <summary>How a run ended. FinishReason: "stop" (EOS/EOT or a stop string), "length" (max tokens), "cancelled".</summary>
public sealed record ExecutionResult(string FinishReason, int TokensIn, int TokensOut, double? TtftMs, double? TpotMs);
