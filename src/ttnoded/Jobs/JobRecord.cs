using TtProtocol.Jobs;

namespace Ttnoded.Jobs;

/// <summary>A job as stored: the accepted request plus its lifecycle. The store's row is the truth; this is a copy.</summary>
public sealed class JobRecord
{
    public long Id { get; set; }
    public uint Uid { get; init; }
    public string User { get; init; } = "";
    public string Project { get; init; } = "";
    public string Model { get; init; } = "";
    /// <summary>"native" (/api/v1/jobs), "completion" or "chat" (/v1 OpenAI endpoints).</summary>
    public string Kind { get; init; } = "native";
    public JobSubmitRequest Request { get; init; } = new();
    public int Priority { get; init; }
    public string? Allocation { get; init; }
    public string State { get; set; } = JobStates.Queued;
    public string? Reason { get; set; }
    public DateTimeOffset SubmittedAt { get; init; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public int TokensIn { get; set; }
    public int TokensOut { get; set; }
    public double? TtftMs { get; set; }
    public double? TpotMs { get; set; }
    public string Output { get; set; } = "";

    public JobInfo ToInfo(int? queuePosition = null, bool includeOutput = true) => new()
    {
        Id = Id, State = State, Reason = Reason, Uid = Uid, User = User, Project = Project, Model = Model, Priority = Priority,
        QueuePosition = queuePosition, Allocation = Allocation, Kind = Kind, SubmittedAt = SubmittedAt, StartedAt = StartedAt,
        FinishedAt = FinishedAt, TokensIn = TokensIn, TokensOut = TokensOut, TtftMs = TtftMs, TpotMs = TpotMs,
        Output = includeOutput ? Output : null,
    };
}
