using System.Text.Json;
using System.Text.Json.Serialization;

namespace TtProtocol.Hardware;

/// <summary>Source-generated JSON for the hardware wire types (camelCase; no reflection).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = false)]
[JsonSerializable(typeof(NodeHardwareInfo))]
[JsonSerializable(typeof(CardListResponse))]
[JsonSerializable(typeof(NodeCheckResponse))]
[JsonSerializable(typeof(CardInfo))]
[JsonSerializable(typeof(HostCheckResult))]
public sealed partial class HardwareJsonContext : JsonSerializerContext
{
}
