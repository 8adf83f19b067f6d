using System.Text;
using Microsoft.AspNetCore.Http;

namespace Ttnoded.Api;

/// <summary>Server-Sent Events written by hand (.NET 9 has no SSE result): "event:", "data:", blank line, flush.</summary>
public static class ServerSentEvents
{
    public static void Begin(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    public static async Task WriteAsync(HttpResponse response, string? eventName, string data, CancellationToken ct)
    {
        var sb = new StringBuilder(data.Length + 32);
        if (eventName is not null) sb.Append("event: ").Append(eventName).Append('\n');
        foreach (var line in data.Split('\n')) sb.Append("data: ").Append(line).Append('\n');
        sb.Append('\n');
        await response.WriteAsync(sb.ToString(), ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }
}
