using Ttnoded.Scheduling;

namespace Ttnoded.Jobs;

/// <summary>
/// The daemon's in-memory view of unfinished jobs (the store remains the truth): what is queued, what runs, and a
/// signal that wakes the dispatcher when either changes. Thread-safe.
/// </summary>
public sealed class JobQueue
{
    private readonly Dictionary<long, JobRecord> _queued = [];
    private readonly Dictionary<long, RunningJob> _running = [];
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _changed = new(0, int.MaxValue);

    public sealed class RunningJob(JobRecord job)
    {
        public JobRecord Job { get; } = job;
        public CancellationTokenSource Cancel { get; } = new();
        public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
        public string? CancelReason { get; set; }
        /// <summary>The stop is a failure (its card vanished), not a cancellation.</summary>
        public bool Fail { get; set; }
    }

    public int QueuedCount { get { lock (_gate) return _queued.Count; } }

    public int RunningCount { get { lock (_gate) return _running.Count; } }

    public int QueuedCountOf(uint uid) { lock (_gate) return _queued.Values.Count(j => j.Uid == uid); }

    public void Enqueue(JobRecord job)
    {
        lock (_gate) _queued[job.Id] = job;
        Signal();
    }

    /// <summary>Removes a queued job (cancelled before it ran). False if it is not queued any more.</summary>
    public bool TryRemoveQueued(long id)
    {
        lock (_gate) return _queued.Remove(id);
    }

    /// <summary>Moves a queued job to running. False when it was removed meanwhile.</summary>
    public RunningJob? TryStart(long id)
    {
        lock (_gate)
        {
            if (!_queued.Remove(id, out var job)) return null;
            var running = new RunningJob(job);
            _running[id] = running;
            return running;
        }
    }

    /// <summary>Puts a job that could not start back into the queue.</summary>
    public void Requeue(JobRecord job)
    {
        lock (_gate) { _running.Remove(job.Id); _queued[job.Id] = job; }
    }

    public void Finished(long id)
    {
        lock (_gate) _running.Remove(id);
        Signal();
    }

    /// <summary>Asks a running job to stop at its next decode step.</summary>
    public bool CancelRunning(long id, string reason)
    {
        lock (_gate)
        {
            if (!_running.TryGetValue(id, out var r)) return false;
            r.CancelReason = reason;
            r.Cancel.Cancel();
            return true;
        }
    }

    public bool IsRunning(long id) { lock (_gate) return _running.ContainsKey(id); }

    public List<QueuedJob> QueuedSnapshot()
    {
        lock (_gate) return _queued.Values.Select(j => new QueuedJob(j.Id, j.User, j.Project, j.Priority, j.SubmittedAt, j.Model)).ToList();
    }

    public JobRecord? QueuedJob(long id) { lock (_gate) return _queued.GetValueOrDefault(id); }

    public List<RunningJob> RunningSnapshot() { lock (_gate) return [.. _running.Values]; }

    public void Signal() => _changed.Release();

    public async Task WaitForChangeAsync(TimeSpan timeout, CancellationToken ct)
    {
        await _changed.WaitAsync(timeout, ct).ConfigureAwait(false);
        while (_changed.CurrentCount > 0) _changed.Wait(0); // coalesce a burst of signals into one pass
    }
}
