using System.Text.Json.Serialization;

namespace TtProtocol.Jobs;

/// <summary>Source-generated JSON for jobs, allocations and the audit log (camelCase).</summary>
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JobSubmitRequest))]
[JsonSerializable(typeof(JobInfo))]
[JsonSerializable(typeof(JobList))]
[JsonSerializable(typeof(JobEvent))]
[JsonSerializable(typeof(SamplingOptions))]
[JsonSerializable(typeof(ChatMessage[]))]
[JsonSerializable(typeof(AllocationRequest))]
[JsonSerializable(typeof(AllocationInfo))]
[JsonSerializable(typeof(AllocationList))]
[JsonSerializable(typeof(AuditList))]
public sealed partial class JobsJsonContext : JsonSerializerContext
{
}
