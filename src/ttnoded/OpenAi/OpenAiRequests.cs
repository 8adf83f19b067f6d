using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using TtProtocol.Jobs;

namespace Ttnoded.OpenAi;

/// <summary>
/// Reading /v1 request bodies: bounded read, unknown or unsupported parameters refused by name (never silently ignored),
/// then mapping onto a job request. Every refusal is an <see cref="OpenAiException"/> naming the OpenAI parameter.
/// </summary>
public static class OpenAiRequests
{
    public const int MaxBodyBytes = 8 << 20;
    /// <summary>OpenAI's default for /v1/completions when max_tokens is absent.</summary>
    public const int CompletionDefaultMaxTokens = 16;
    /// <summary>Most alternatives per token that logprobs / top_logprobs may ask for (OpenAI's limit).</summary>
    public const int MaxTopLogprobs = 20;

    private static readonly string[] CommonKeys =
        ["model", "max_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "stop", "presence_penalty", "frequency_penalty",
         "repetition_penalty", "n", "logprobs", "stream", "stream_options", "user", "priority", "ignore_eos", "cache_prompt"];

    public static readonly HashSet<string> CompletionKeys = [.. CommonKeys, "prompt"];
    public static readonly HashSet<string> ChatKeys = [.. CommonKeys, "messages", "max_completion_tokens", "top_logprobs"];

    /// <summary>OpenAI parameters we know but do not implement: accepted only when null (= absent), else refused by name.</summary>
    private static readonly HashSet<string> KnownUnsupported =
        ["best_of", "echo", "suffix", "logit_bias", "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call",
         "response_format", "store", "metadata", "service_tier", "modalities", "audio", "prediction", "reasoning_effort",
         "web_search_options", "stream_options.continuous_usage_stats"];

    public static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBodyBytes) throw OpenAiException.BadRequest($"request body larger than {MaxBodyBytes} bytes");
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > MaxBodyBytes) throw OpenAiException.BadRequest($"request body larger than {MaxBodyBytes} bytes");
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length == 0) throw OpenAiException.BadRequest("request body is empty; a JSON object expected");
        return buffer.ToArray();
    }

    /// <summary>Checks every top-level key (and stream_options' keys) against <paramref name="allowed"/>, then binds.</summary>
    public static T Parse<T>(byte[] body, HashSet<string> allowed, JsonTypeInfo<T> type)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body); }
        catch (JsonException e) { throw OpenAiException.BadRequest($"request body is not valid JSON: {FirstSentence(e.Message)}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw OpenAiException.BadRequest("request body must be a JSON object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (allowed.Contains(p.Name)) continue;
                if (KnownUnsupported.Contains(p.Name))
                {
                    if (p.Value.ValueKind == JsonValueKind.Null) continue;
                    throw OpenAiException.Unsupported(p.Name, "only null is accepted");
                }
                throw OpenAiException.UnknownParameter(p.Name);
            }
            if (doc.RootElement.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in so.EnumerateObject())
                    if (p.Name != "include_usage" && p.Value.ValueKind != JsonValueKind.Null)
                        throw OpenAiException.UnknownParameter($"stream_options.{p.Name}");
            }
            try
            {
                return doc.RootElement.Deserialize(type) ?? throw OpenAiException.BadRequest("request body is null; a JSON object expected");
            }
            catch (JsonException e)
            {
                string param = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
                int bracket = param.IndexOf('[', StringComparison.Ordinal);
                string name = bracket > 0 && !param.StartsWith("messages", StringComparison.Ordinal) ? param[..bracket] : param;
                throw OpenAiException.BadRequest($"invalid value for '{name}': {FirstSentence(e.Message)}", name);
            }
        }
    }

    /// <summary>The job for a completion request (kind "completion").</summary>
    public static JobSubmitRequest ToJob(CompletionRequest r)
    {
        string model = RequireModel(r.Model);
        if (r.Logprobs is < 0 or > MaxTopLogprobs) throw OpenAiException.BadRequest($"'logprobs' must be 0..{MaxTopLogprobs}, got {r.Logprobs}", "logprobs");
        string prompt = r.Prompt switch
        {
            null => throw OpenAiException.BadRequest("'prompt' is required", "prompt"),
            { ValueKind: JsonValueKind.String } s => s.GetString()!,
            { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() == 1 && a[0].ValueKind == JsonValueKind.String => a[0].GetString()!,
            { ValueKind: JsonValueKind.Array } => throw OpenAiException.BadRequest("'prompt' must be a string or an array of exactly one string (batched prompts are not supported; send one request each)", "prompt"),
            _ => throw OpenAiException.BadRequest("'prompt' must be a string (token-id prompts are not supported)", "prompt"),
        };
        if (prompt.Length == 0) throw OpenAiException.BadRequest("'prompt' must not be empty", "prompt");
        CheckCommon(r.N, r.Priority);
        return new JobSubmitRequest
        {
            Model = model, Prompt = prompt, MaxTokens = MaxTokens(r.MaxTokens, "max_tokens") ?? CompletionDefaultMaxTokens, Priority = r.Priority,
            Sampling = Sampling(r.Temperature, r.TopP, r.TopK, r.MinP, r.Seed, r.Stop, r.PresencePenalty, r.FrequencyPenalty, r.RepetitionPenalty, r.IgnoreEos, r.CachePrompt) with { Logprobs = r.Logprobs },
        };
    }

    /// <summary>The job for a chat request (kind "chat").</summary>
    public static JobSubmitRequest ToJob(ChatCompletionRequest r)
    {
        string model = RequireModel(r.Model);
        if (r.TopLogprobs is not null && r.Logprobs != true) throw OpenAiException.BadRequest("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        if (r.TopLogprobs is < 0 or > MaxTopLogprobs) throw OpenAiException.BadRequest($"'top_logprobs' must be 0..{MaxTopLogprobs}, got {r.TopLogprobs}", "top_logprobs");
        if (r.Messages is not { Length: > 0 }) throw OpenAiException.BadRequest("'messages' must be a non-empty array", "messages");
        var messages = new ChatMessage[r.Messages.Length];
        for (int i = 0; i < messages.Length; i++)
        {
            var m = r.Messages[i] ?? throw OpenAiException.BadRequest($"messages[{i}] must be an object", $"messages[{i}]");
            string role = m.Role switch
            {
                "system" or "developer" => "system",
                "user" or "assistant" => m.Role,
                null => throw OpenAiException.BadRequest($"messages[{i}].role is required", $"messages[{i}].role"),
                _ => throw OpenAiException.BadRequest($"messages[{i}].role '{m.Role}' is not supported (system, developer, user, assistant)", $"messages[{i}].role"),
            };
            messages[i] = new ChatMessage(role, ContentText(m.Content, i));
        }
        CheckCommon(r.N, r.Priority);
        if (r.MaxTokens is not null && r.MaxCompletionTokens is not null && r.MaxTokens != r.MaxCompletionTokens)
            throw OpenAiException.BadRequest("max_tokens and max_completion_tokens disagree; send one", "max_completion_tokens");
        return new JobSubmitRequest
        {
            Model = model, Messages = messages, Priority = r.Priority,
            MaxTokens = MaxTokens(r.MaxCompletionTokens, "max_completion_tokens") ?? MaxTokens(r.MaxTokens, "max_tokens"),
            Sampling = Sampling(r.Temperature, r.TopP, r.TopK, r.MinP, r.Seed, r.Stop, r.PresencePenalty, r.FrequencyPenalty, r.RepetitionPenalty, r.IgnoreEos, r.CachePrompt)
                with { Logprobs = r.Logprobs == true ? r.TopLogprobs ?? 0 : null },
        };
    }

    private static string ContentText(JsonElement? content, int i)
    {
        switch (content)
        {
            case { ValueKind: JsonValueKind.String } s:
                return s.GetString()!;
            case { ValueKind: JsonValueKind.Array } parts:
                var text = new System.Text.StringBuilder();
                int k = 0;
                foreach (var part in parts.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
                        throw OpenAiException.BadRequest($"messages[{i}].content[{k}] must be an object with a type", $"messages[{i}].content[{k}]");
                    if (t.GetString() != "text" || !part.TryGetProperty("text", out var tx) || tx.ValueKind != JsonValueKind.String)
                        throw OpenAiException.BadRequest($"messages[{i}].content[{k}]: only text parts are supported, got '{t.GetString()}'", $"messages[{i}].content[{k}].type");
                    text.Append(tx.GetString());
                    k++;
                }
                return text.ToString();
            default:
                throw OpenAiException.BadRequest($"messages[{i}].content must be a string or an array of text parts", $"messages[{i}].content");
        }
    }

    private static string RequireModel(string? model) =>
        string.IsNullOrEmpty(model) ? throw OpenAiException.BadRequest("'model' is required", "model") : model;

    private static void CheckCommon(int? n, int? priority)
    {
        if (n is not (null or 1)) throw OpenAiException.BadRequest($"'n' must be 1 (one choice per request), got {n}", "n");
        if (priority is < 0 or > 100) throw OpenAiException.BadRequest($"'priority' must be 0..100, got {priority}", "priority");
    }

    private static int? MaxTokens(int? value, string name) =>
        value is < 1 ? throw OpenAiException.BadRequest($"'{name}' must be ≥ 1, got {value}", name) : value;

    private static SamplingOptions Sampling(float? temperature, float? topP, int? topK, float? minP, ulong? seed, JsonElement? stop,
        float? presence, float? frequency, float? repetition, bool? ignoreEos, bool? cachePrompt)
    {
        if (temperature is < 0 or > 2) throw OpenAiException.BadRequest($"'temperature' must be 0..2, got {temperature}", "temperature");
        if (topP is <= 0 or > 1) throw OpenAiException.BadRequest($"'top_p' must be in (0, 1], got {topP}", "top_p");
        if (topK is < -1) throw OpenAiException.BadRequest($"'top_k' must be ≥ 0 (or -1 for all), got {topK}", "top_k");
        if (minP is < 0 or > 1) throw OpenAiException.BadRequest($"'min_p' must be 0..1, got {minP}", "min_p");
        if (presence is < -2 or > 2) throw OpenAiException.BadRequest($"'presence_penalty' must be -2..2, got {presence}", "presence_penalty");
        if (frequency is < -2 or > 2) throw OpenAiException.BadRequest($"'frequency_penalty' must be -2..2, got {frequency}", "frequency_penalty");
        if (repetition is <= 0 or > 10) throw OpenAiException.BadRequest($"'repetition_penalty' must be in (0, 10], got {repetition}", "repetition_penalty");
        return new SamplingOptions
        {
            Temperature = temperature, TopP = topP, TopK = topK == -1 ? 0 : topK, MinP = minP, Seed = seed, Stop = StopStrings(stop),
            PresencePenalty = presence, FrequencyPenalty = frequency, RepetitionPenalty = repetition, IgnoreEos = ignoreEos, CachePrompt = cachePrompt,
        };
    }

    private static string[]? StopStrings(JsonElement? stop)
    {
        switch (stop)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return null;
            case { ValueKind: JsonValueKind.String } s:
                return s.GetString() is { Length: > 0 } one ? [one] : throw OpenAiException.BadRequest("'stop' strings must not be empty", "stop");
            case { ValueKind: JsonValueKind.Array } a:
                if (a.GetArrayLength() > 16) throw OpenAiException.BadRequest("'stop' takes at most 16 strings", "stop");
                var list = new List<string>();
                foreach (var e in a.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.String || e.GetString() is not { Length: > 0 } str)
                        throw OpenAiException.BadRequest("'stop' must be a string or an array of non-empty strings", "stop");
                    list.Add(str);
                }
                return list.Count > 0 ? [.. list] : null;
            default:
                throw OpenAiException.BadRequest("'stop' must be a string or an array of non-empty strings", "stop");
        }
    }

    private static string FirstSentence(string message)
    {
        int i = message.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message.TrimEnd('.');
    }
}
