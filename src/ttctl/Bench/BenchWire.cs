using System.Text.Json.Serialization;

namespace Ttctl.Bench;

// The slice of ttnoded's OpenAI-compatible /v1 API that `ttctl bench` speaks (ttctl does not reference the daemon).

internal sealed record BenchCompletionRequest
{
    public string Model { get; init; } = "";
    public string Prompt { get; init; } = "";
    public int MaxTokens { get; init; }
    public float Temperature { get; init; }
    public bool Stream { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BenchStreamOptions? StreamOptions { get; init; }
    /// <summary>ttnoded extension: generate exactly max_tokens (EOS does not stop).</summary>
    public bool IgnoreEos { get; init; }
    /// <summary>ttnoded extension (llama.cpp's name): false = prefill the whole prompt, no prefix-cache reuse.</summary>
    public bool CachePrompt { get; init; } = true;
}

internal sealed record BenchStreamOptions(bool IncludeUsage);

internal sealed record BenchUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record BenchChoice(int Index, string? Text, string? FinishReason);

/// <summary>A streamed chunk or a whole completion (same fields for what the bench reads).</summary>
internal sealed record BenchCompletion(string? Id, BenchChoice[]? Choices, BenchUsage? Usage);

internal sealed record BenchModel(string Id, int? MaxModelLen);

internal sealed record BenchModelList(BenchModel[] Data);

internal sealed record BenchError(string? Message, string? Param, string? Code);

internal sealed record BenchErrorEnvelope(BenchError? Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BenchCompletionRequest))]
[JsonSerializable(typeof(BenchCompletion))]
[JsonSerializable(typeof(BenchModelList))]
[JsonSerializable(typeof(BenchErrorEnvelope))]
internal sealed partial class BenchJsonContext : JsonSerializerContext
{
}

/// <summary>The machine-readable report (--json), camelCase like the rest of ttctl's JSON.</summary>
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(BenchReport))]
internal sealed partial class BenchReportJsonContext : JsonSerializerContext
{
}
