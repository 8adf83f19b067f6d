namespace Ttnoded.Models;

/// <summary>A model-store refusal with the HTTP status it maps to (400 bad bundle, 404 unknown, 409 conflict, 422 unmet requirement).</summary>
public sealed class ModelStoreException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
