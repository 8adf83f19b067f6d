using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Ttnoded.Api;

/// <summary>Reads a bounded JSON request body; malformed input becomes a 400 naming the JSON path at fault.</summary>
public static class JsonBody
{
    public const int MaxBytes = 8 << 20;

    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, CancellationToken ct)
    {
        if (request.ContentLength > MaxBytes) throw ApiException.BadRequest($"request body larger than {MaxBytes} bytes");
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > MaxBytes) throw ApiException.BadRequest($"request body larger than {MaxBytes} bytes");
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length == 0) throw ApiException.BadRequest("request body is empty; JSON expected");
        try
        {
            return JsonSerializer.Deserialize(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), type)
                   ?? throw ApiException.BadRequest("request body is null; a JSON object expected");
        }
        catch (JsonException e)
        {
            string path = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            throw ApiException.BadRequest($"invalid JSON at {path}: {FirstSentence(e.Message)}", path);
        }
    }

    private static string FirstSentence(string message)
    {
        int i = message.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message.TrimEnd('.');
    }
}
