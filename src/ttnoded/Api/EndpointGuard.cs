using Microsoft.AspNetCore.Http;

namespace Ttnoded.Api;

/// <summary>Turns <see cref="ApiException"/> into the API's error shape; nothing a request sends can crash the daemon.</summary>
public static class EndpointGuard
{
    public static async Task<IResult> RunAsync(Func<Task<IResult>> body)
    {
        try { return await body().ConfigureAwait(false); }
        catch (ApiException e) { return ApiResults.Error(e.Status, e.Message, e.Field); }
    }

    public static IResult Run(Func<IResult> body)
    {
        try { return body(); }
        catch (ApiException e) { return ApiResults.Error(e.Status, e.Message, e.Field); }
    }
}
