using Ttnoded.Api;

namespace Ttnoded.OpenAi;

/// <summary>A /v1 request refused, in the terms of OpenAI's error object: status, message, param and code.</summary>
public sealed class OpenAiException(int status, string message, string? param = null, string? code = null, string? type = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    /// <summary>OpenAI's error type for the status.</summary>
    public string Type { get; } = type ?? TypeOf(status);

    public static OpenAiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, param, code);

    public static OpenAiException UnknownParameter(string param) =>
        new(400, $"unknown parameter '{param}'", param, "unknown_parameter");

    public static OpenAiException Unsupported(string param, string why) =>
        new(400, $"parameter '{param}' is not supported by ttnoded: {why}", param, "unsupported_parameter");

    public static OpenAiException ModelNotFound(string model, IReadOnlyList<string> known) =>
        new(404, $"the model '{model}' does not exist on this node (models: {(known.Count == 0 ? "none registered" : string.Join(", ", known))})", "model", "model_not_found");

    /// <summary>A refusal from the job layer (validation, permissions, queue bounds) in OpenAI's terms.</summary>
    public static OpenAiException From(ApiException e) => new(e.Status, e.Message, ParamOf(e.Field), e.Status switch
    {
        429 => "rate_limit_exceeded",
        403 => "permission_denied",
        _ => null,
    });

    public ErrorEnvelope ToEnvelope() => new(new ErrorBody(Message, Type, Param, Code));

    private static string TypeOf(int status) => status switch
    {
        400 or 404 or 409 or 413 or 415 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        503 => "service_unavailable_error",
        _ => "server_error",
    };

    /// <summary>The job layer names fields camelCase under "sampling."; OpenAI clients know the snake_case parameter.</summary>
    private static string? ParamOf(string? field) => field switch
    {
        null => null,
        "maxTokens" => "max_tokens",
        _ when field.StartsWith("sampling.", StringComparison.Ordinal) => Snake(field["sampling.".Length..]),
        _ => field,
    };

    private static string Snake(string name)
    {
        var sb = new System.Text.StringBuilder(name.Length + 4);
        foreach (char c in name)
        {
            if (char.IsUpper(c)) sb.Append('_').Append(char.ToLowerInvariant(c));
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
