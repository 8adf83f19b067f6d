using System.Text.Json;
using System.Text.Json.Serialization;

namespace TtProtocol.Models;

/// <summary>
/// HTTP wire contracts of the model store (<c>/api/v1/models…</c>), shared by ttnoded and ttctl. camelCase like the
/// rest of the HTTP API; the bundle's own manifest (snake_case) is embedded verbatim where it appears.
/// </summary>
/// <param name="Name">Model name.</param>
/// <param name="Version">Model version.</param>
/// <param name="Architecture">Architecture.</param>
/// <param name="Quantization">Quantization.</param>
/// <param name="ParameterCount">Parameters.</param>
/// <param name="ContextLength">Context length.</param>
/// <param name="ChatTemplate">Chat template id.</param>
/// <param name="License">License id.</param>
/// <param name="SizeBytes">Total payload bytes.</param>
/// <param name="GgufSha256">Blob id of the GGUF.</param>
/// <param name="Signature">trusted, untrusted, unsigned or not-checked.</param>
/// <param name="SignerKeyId">Signer key id, if checked.</param>
/// <param name="ImportedAt">Registration time.</param>
/// <param name="ImportedBy">User that imported it.</param>
public sealed record ModelSummary(string Name, string Version, string Architecture, string Quantization, long ParameterCount,
    long ContextLength, string ChatTemplate, string License, long SizeBytes, string GgufSha256, string Signature,
    string? SignerKeyId, DateTimeOffset ImportedAt, string ImportedBy);

/// <summary>GET /api/v1/models.</summary>
/// <param name="Models">Every registered model, by name then version.</param>
public sealed record ModelListResponse(IReadOnlyList<ModelSummary> Models);

/// <summary>One stored payload file.</summary>
/// <param name="Path">Path inside the bundle.</param>
/// <param name="Kind">gguf, license, readme, other.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Sha256">Content hash (the blob id).</param>
/// <param name="BlobPath">Where the blob lives on the node.</param>
public sealed record ModelFileInfo(string Path, string Kind, long Size, string Sha256, string BlobPath);

/// <summary>GET /api/v1/models/{name}.</summary>
/// <param name="Model">Summary.</param>
/// <param name="Files">Payload files.</param>
/// <param name="Manifest">The exact manifest.json, parsed (snake_case).</param>
public sealed record ModelDetail(ModelSummary Model, IReadOnlyList<ModelFileInfo> Files, JsonElement Manifest);

/// <summary>POST /api/v1/models/import (201).</summary>
/// <param name="Model">What was registered.</param>
/// <param name="Warnings">Trust and hardware warnings, one line each.</param>
/// <param name="BytesRead">Bundle bytes received.</param>
/// <param name="Seconds">Import duration.</param>
public sealed record ModelImportResponse(ModelSummary Model, IReadOnlyList<string> Warnings, long BytesRead, double Seconds);

/// <summary>One blob's state at rest.</summary>
/// <param name="Path">Path inside the bundle.</param>
/// <param name="Sha256">Expected hash.</param>
/// <param name="Status">ok, missing, size-mismatch, hash-mismatch.</param>
/// <param name="Detail">Human detail.</param>
public sealed record BlobCheck(string Path, string Sha256, string Status, string Detail);

/// <summary>POST /api/v1/models/{name}/verify.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Version">Model version.</param>
/// <param name="Ok">True when every blob hashed to its id.</param>
/// <param name="Files">Per-file results.</param>
public sealed record ModelVerifyResponse(string Name, string Version, bool Ok, IReadOnlyList<BlobCheck> Files);

/// <summary>DELETE /api/v1/models/{name}.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Version">Model version.</param>
/// <param name="BlobsRemoved">Blobs no other model referenced, now deleted.</param>
public sealed record ModelRemoveResponse(string Name, string Version, int BlobsRemoved);

/// <summary>Source-generated JSON for the model store API (camelCase, as the HTTP API speaks).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ModelListResponse))]
[JsonSerializable(typeof(ModelDetail))]
[JsonSerializable(typeof(ModelImportResponse))]
[JsonSerializable(typeof(ModelVerifyResponse))]
[JsonSerializable(typeof(ModelRemoveResponse))]
public sealed partial class ModelApiJsonContext : JsonSerializerContext
{
}
