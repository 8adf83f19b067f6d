using System.Text.Json.Serialization;

namespace TtProtocol;

/// <summary>Source-generated JSON for the foundation's wire types (camelCase, as the HTTP API speaks).</summary>
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false)]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(NodeResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(CallerInfo))]
public sealed partial class ApiJsonContext : JsonSerializerContext
{
}
