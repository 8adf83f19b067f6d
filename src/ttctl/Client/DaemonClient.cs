using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using TtProtocol;

namespace Ttctl.Client;

/// <summary>HTTP/1.1 to ttnoded over its Unix socket. Every failure becomes a <see cref="CliException"/> with one clear line.</summary>
public sealed class DaemonClient : IDisposable
{
    private readonly HttpClient _http;

    public string SocketPath { get; }

    public DaemonClient(string socketPath, TimeSpan? timeout = null)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://ttnoded/"), Timeout = timeout ?? Timeout.InfiniteTimeSpan };
    }

    /// <summary>The underlying client, for streaming verbs (SSE, uploads).</summary>
    public HttpClient Http => _http;

    public Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct = default) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, path), type, ct);

    public Task<T> PostAsync<TReq, T>(string path, TReq body, JsonTypeInfo<TReq> reqType, JsonTypeInfo<T> type, CancellationToken ct = default)
    {
        var msg = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, reqType)),
        };
        msg.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return SendAsync(msg, type, ct);
    }

    public async Task<T> SendAsync<T>(HttpRequestMessage request, JsonTypeInfo<T> type, CancellationToken ct = default)
    {
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        try
        {
            return await JsonSerializer.DeserializeAsync(stream, type, ct).ConfigureAwait(false)
                   ?? throw new CliException(ExitCodes.DaemonError, $"ttnoded at {SocketPath} sent an empty reply to {request.RequestUri}");
        }
        catch (JsonException e)
        {
            throw new CliException(ExitCodes.DaemonError, $"ttnoded at {SocketPath} sent a malformed reply to {request.RequestUri}: {e.Message}");
        }
    }

    /// <summary>Sends a request; maps connection failures and non-success statuses to <see cref="CliException"/>.</summary>
    public async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct = default)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException se)
        {
            throw se.SocketErrorCode == SocketError.AccessDenied
                ? new CliException(ExitCodes.PermissionDenied, $"permission denied on {SocketPath}: are you in the socket's group (ttnode)?")
                : Unreachable();
        }
        catch (HttpRequestException)
        {
            throw Unreachable();
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            string detail = await ErrorText(response, ct).ConfigureAwait(false);
            int code = response.StatusCode switch
            {
                HttpStatusCode.Forbidden => ExitCodes.PermissionDenied,
                HttpStatusCode.ServiceUnavailable => ExitCodes.Unavailable,
                >= HttpStatusCode.InternalServerError => ExitCodes.DaemonError,
                _ => ExitCodes.Rejected,
            };
            throw new CliException(code, detail);
        }
    }

    private CliException Unreachable() =>
        new(ExitCodes.Unavailable, $"cannot reach ttnoded at {SocketPath}: is the service running?");

    private static async Task<string> ErrorText(HttpResponseMessage response, CancellationToken ct)
    {
        string body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        try
        {
            var err = JsonSerializer.Deserialize(body, ApiJsonContext.Default.ErrorResponse);
            if (err?.Error is { Length: > 0 } text) return text;
        }
        catch (JsonException)
        {
            // Not our error shape (OpenAI errors, proxies): fall back to the status line.
        }
        return $"ttnoded answered {(int)response.StatusCode} {response.ReasonPhrase}";
    }

    public void Dispose() => _http.Dispose();
}
