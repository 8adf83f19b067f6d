namespace Ttnoded.Api;

/// <summary>A request the daemon refuses: HTTP status plus one line naming what is wrong (and the field, when one is).</summary>
public sealed class ApiException(int status, string message, string? field = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Field { get; } = field;

    public static ApiException BadRequest(string message, string? field = null) => new(400, message, field);
    public static ApiException Forbidden(string message) => new(403, message);
    public static ApiException NotFound(string message) => new(404, message);
    public static ApiException Conflict(string message) => new(409, message);
    public static ApiException TooMany(string message) => new(429, message);
}
