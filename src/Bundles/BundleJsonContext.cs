using System.Text.Json;
using System.Text.Json.Serialization;
using TtBundles.Signing;

namespace TtBundles;

/// <summary>
/// Source-generated JSON for the bundle files (<c>manifest.json</c>, <c>manifest.sig</c>). The bundle format uses
/// snake_case_lower property names (like GGUF keys and tt-inference-server specs), unlike the camelCase HTTP API.
/// Unknown properties are refused: a version-1 reader must not silently drop a field a signer meant.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    WriteIndented = true)]
[JsonSerializable(typeof(BundleManifest))]
[JsonSerializable(typeof(BundleSignature))]
public sealed partial class BundleJsonContext : JsonSerializerContext
{
}
