namespace Ttnoded.Scheduling;

/// <summary>What the scheduler needs to know of a queued job.</summary>
public readonly record struct QueuedJob(long Id, string User, string Project, int Priority, DateTimeOffset SubmittedAt, string Model);
