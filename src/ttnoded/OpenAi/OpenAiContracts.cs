using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ttnoded.OpenAi;

// The OpenAI wire shapes ttnoded speaks under /v1 (snake_case, see OpenAiJsonContext). Requests are checked for unknown
// keys before they are bound here (OpenAiRequests), so every property below is a parameter we honour or reject by value.

/// <summary>POST /v1/completions.</summary>
public sealed record CompletionRequest
{
    public string? Model { get; init; }
    /// <summary>A string, or an array of exactly one string.</summary>
    public JsonElement? Prompt { get; init; }
    public int? MaxTokens { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public float? MinP { get; init; }
    public ulong? Seed { get; init; }
    /// <summary>A string or an array of strings.</summary>
    public JsonElement? Stop { get; init; }
    public float? PresencePenalty { get; init; }
    public float? FrequencyPenalty { get; init; }
    public float? RepetitionPenalty { get; init; }
    public int? N { get; init; }
    /// <summary>Completions: an integer, the number of most likely alternatives reported per token (0-20).</summary>
    public int? Logprobs { get; init; }
    public bool? Stream { get; init; }
    public StreamOptions? StreamOptions { get; init; }
    public string? User { get; init; }
    /// <summary>Extension: the job priority 0-100 (default 10).</summary>
    public int? Priority { get; init; }
    /// <summary>Extension: keep generating past end-of-sequence tokens until max_tokens (benchmarks).</summary>
    public bool? IgnoreEos { get; init; }
    /// <summary>Extension (llama.cpp server's name): false = do not reuse a cached prompt prefix. Default true.</summary>
    public bool? CachePrompt { get; init; }
}

/// <summary>POST /v1/chat/completions.</summary>
public sealed record ChatCompletionRequest
{
    public string? Model { get; init; }
    public ChatMessageIn[]? Messages { get; init; }
    public int? MaxTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public float? MinP { get; init; }
    public ulong? Seed { get; init; }
    public JsonElement? Stop { get; init; }
    public float? PresencePenalty { get; init; }
    public float? FrequencyPenalty { get; init; }
    public float? RepetitionPenalty { get; init; }
    public int? N { get; init; }
    /// <summary>Chat: true reports each token's log probability (with top_logprobs alternatives, 0-20).</summary>
    public bool? Logprobs { get; init; }
    public int? TopLogprobs { get; init; }
    public bool? Stream { get; init; }
    public StreamOptions? StreamOptions { get; init; }
    public string? User { get; init; }
    public int? Priority { get; init; }
    public bool? IgnoreEos { get; init; }
    public bool? CachePrompt { get; init; }
}

/// <summary>One chat message; content is a string or an array of {"type":"text","text":...} parts.</summary>
public sealed record ChatMessageIn
{
    public string? Role { get; init; }
    public JsonElement? Content { get; init; }
    public string? Name { get; init; }
}

public sealed record StreamOptions
{
    public bool? IncludeUsage { get; init; }
}

public sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);

// ------------------------------------------------------------------ non-streaming answers

public sealed record CompletionResponse(string Id, string Object, long Created, string Model, CompletionChoice[] Choices, Usage Usage);

public sealed record CompletionChoice(int Index, string Text, CompletionLogprobs? Logprobs, string? FinishReason);

/// <summary>The legacy completions logprobs object: parallel arrays, top alternatives as {token: logprob} maps.</summary>
public sealed record CompletionLogprobs(string[] Tokens, float[] TokenLogprobs, Dictionary<string, float>[] TopLogprobs, int[] TextOffset);

public sealed record ChatCompletionResponse(string Id, string Object, long Created, string Model, ChatChoice[] Choices, Usage Usage);

public sealed record ChatChoice(int Index, ChatMessageOut Message, ChatLogprobs? Logprobs, string? FinishReason);

/// <summary>Chat logprobs: one entry per generated token.</summary>
public sealed record ChatLogprobs(ChatTokenLogprob[] Content);

public sealed record ChatTokenLogprob(string Token, float Logprob, int[] Bytes, ChatTopLogprob[] TopLogprobs);

public sealed record ChatTopLogprob(string Token, float Logprob, int[] Bytes);

public sealed record ChatMessageOut(string Role, string Content);

// ------------------------------------------------------------------ streaming chunks

public sealed record CompletionChunk(string Id, string Object, long Created, string Model, CompletionChoice[] Choices)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Usage? Usage { get; init; }
}

public sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, ChatChunkChoice[] Choices)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Usage? Usage { get; init; }
}

public sealed record ChatChunkChoice(int Index, ChatDelta Delta, ChatLogprobs? Logprobs, string? FinishReason);

public sealed record ChatDelta
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Role { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Content { get; init; }
}

// ------------------------------------------------------------------ models and errors

public sealed record ModelList(string Object, ModelCard[] Data);

/// <summary>A model; max_model_len (as vLLM) is the context length in tokens, when known.</summary>
public sealed record ModelCard(string Id, string Object, long Created, string OwnedBy)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxModelLen { get; init; }
}

/// <summary>OpenAI's error envelope: {"error":{"message","type","param","code"}}.</summary>
public sealed record ErrorEnvelope(ErrorBody Error);

public sealed record ErrorBody(string Message, string Type, string? Param, string? Code);

/// <summary>Source-generated JSON for /v1 (snake_case as OpenAI; nulls are written, as OpenAI does, unless marked).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(CompletionChunk))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorEnvelope))]
public sealed partial class OpenAiJsonContext : JsonSerializerContext
{
}
