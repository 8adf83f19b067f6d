using Microsoft.AspNetCore.Http;
using TtProtocol;

namespace Ttnoded.Api;

/// <summary>Typed JSON results of the native API (source-generated serialisation only).</summary>
public static class ApiResults
{
    public static IResult Error(int status, string message, string? field = null) =>
        Results.Json(new ErrorResponse(message, field), ApiJsonContext.Default.ErrorResponse, statusCode: status);

    public static IResult BadRequest(string message, string? field = null) => Error(StatusCodes.Status400BadRequest, message, field);

    public static IResult Forbidden(string message) => Error(StatusCodes.Status403Forbidden, message);

    public static IResult NotFound(string message) => Error(StatusCodes.Status404NotFound, message);
}
