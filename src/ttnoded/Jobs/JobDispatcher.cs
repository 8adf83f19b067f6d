using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TtProtocol.Jobs;
using Ttnoded.Allocations;
using Ttnoded.Config;
using Ttnoded.Hardware;
using Ttnoded.Inference;
using Ttnoded.Scheduling;

namespace Ttnoded.Jobs;

/// <summary>
/// Starts queued jobs in the scheduler's order while fewer than jobs.maxRunning run (and fewer than
/// jobs.maxRunningPerModel on the job's model: the rest wait in the queue), locks the cards of a job's
/// allocation for its duration, records the outcome, and prunes old jobs. One loop, woken by queue changes.
/// </summary>
public sealed class JobDispatcher(
    JobQueue queue, JobStore jobs, JobFeeds feeds, FairShareScheduler scheduler, IJobExecutor executor,
    AllocationService allocations, HardwareMonitor hardware, DaemonConfig config, ILogger<JobDispatcher> log,
    Metrics.RequestMetrics metrics, IModelCatalog catalog) : BackgroundService
{
    private DateTimeOffset _lastPrune = DateTimeOffset.MinValue;

    /// <summary>Loads the queue from the store after a restart (jobs that were running go back per jobs.onRestart).</summary>
    public void Recover()
    {
        int touched = jobs.RecoverInterrupted(requeue: config.Jobs.OnRestart == "requeue");
        if (touched > 0) log.LogWarning("{Count} jobs were running when ttnoded stopped: {Policy}", touched, config.Jobs.OnRestart == "requeue" ? "requeued" : "failed as interrupted");
        foreach (var job in jobs.List(JobStates.Queued, limit: int.MaxValue).OrderBy(j => j.Id))
        {
            feeds.GetOrCreate(job.Id).Publish(new JobEvent { Type = "state", JobId = job.Id, State = JobStates.Queued });
            queue.Enqueue(job);
        }
        hardware.Changed += OnHardwareChanged;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                DispatchReady();
                PruneIfDue();
                await queue.WaitForChangeAsync(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception e)
            {
                // The dispatcher must survive anything one job or the store throws at it.
                log.LogError(e, "dispatcher pass failed: {Message}", e.Message);
                await Task.Delay(500, stoppingToken).ConfigureAwait(false);
            }
        }
        foreach (var r in queue.RunningSnapshot()) r.Cancel.Cancel();
    }

    private void DispatchReady()
    {
        while (queue.RunningCount < config.Jobs.MaxRunning)
        {
            var running = queue.RunningSnapshot();
            var now = DateTimeOffset.UtcNow;
            var perUser = running.GroupBy(r => r.Job.User).ToDictionary(g => g.Key, g => g.Count());
            var perProject = running.GroupBy(r => r.Job.Project).ToDictionary(g => g.Key, g => g.Count());
            var usage = new Dictionary<string, double>();
            foreach (var r in running)
            {
                double s = (now - r.StartedAt).TotalSeconds;
                usage["p:" + r.Job.Project] = usage.GetValueOrDefault("p:" + r.Job.Project) + s;
                usage["u:" + r.Job.User] = usage.GetValueOrDefault("u:" + r.Job.User) + s;
            }
            var perModel = running.GroupBy(r => ModelKey(r.Job.Model)).ToDictionary(g => g.Key, g => g.Count());
            var pick = scheduler.PickNext(queue.QueuedSnapshot(), now, perUser, perProject, usage,
                q => perModel.GetValueOrDefault(ModelKey(q.Model)) < config.Jobs.MaxRunningPerModel && CardsFree(q));
            if (pick is null) return;
            var started = queue.TryStart(pick.Value.Id);
            if (started is null) continue;
            if (!jobs.MarkRunning(started.Job.Id, now)) { queue.Finished(started.Job.Id); continue; }
            var leases = LockCards(started.Job, out string? unusable);
            if (unusable is not null)
            {
                // A card of its allocation is gone or unhealthy: waiting would block the job forever, so it fails now.
                started.Job.State = JobStates.Failed;
                started.Job.Reason = unusable;
                started.Job.FinishedAt = now;
                jobs.Finish(started.Job);
                feeds.GetOrCreate(started.Job.Id).Publish(new JobEvent { Type = "state", JobId = started.Job.Id, State = JobStates.Failed, Reason = unusable }, final: true);
                feeds.Retire(started.Job.Id, TimeSpan.FromMinutes(1));
                queue.Finished(started.Job.Id);
                log.LogWarning("job {Id} failed: {Reason}", started.Job.Id, unusable);
                continue;
            }
            if (leases is null) { queue.Requeue(started.Job); return; }
            started.Job.State = JobStates.Running;
            started.Job.StartedAt = now;
            _ = Task.Run(() => RunAsync(started, leases));
        }
    }

    /// <summary>One key per model whatever name the job used ("name" or "name:version").</summary>
    private string ModelKey(string model) => catalog.Find(model)?.Name ?? model;

    private bool CardsFree(QueuedJob q)
    {
        var job = queue.QueuedJob(q.Id);
        if (job?.Allocation is null) return true;
        var alloc = allocations.Get(job.Allocation);
        return alloc is null || alloc.Cards.All(c => hardware.Locks.OwnerOf(c) is null);
    }

    /// <summary>Locks the job's allocation cards; null when one is held by another job (wait), with
    /// <paramref name="unusable"/> set when a card cannot be used at all (fail).</summary>
    private List<CardLease>? LockCards(JobRecord job, out string? unusable)
    {
        unusable = null;
        var leases = new List<CardLease>();
        if (job.Allocation is null) return leases;
        var alloc = allocations.Get(job.Allocation);
        if (alloc is null) return leases; // removed since submission: the job runs without cards, as jobs without allocation do
        foreach (var card in alloc.Cards)
        {
            if (!hardware.TryLockCard(card, $"job/{job.Id}", out var lease, out string? reason) || lease is null)
            {
                foreach (var l in leases) l.Dispose();
                if (hardware.Locks.OwnerOf(card) is null)
                {
                    unusable = reason ?? $"card {card} cannot be locked";
                    return null;
                }
                log.LogInformation("job {Id} waits: card {Card} is busy ({Reason})", job.Id, card, reason);
                return null;
            }
            leases.Add(lease);
        }
        return leases;
    }

    private async Task RunAsync(JobQueue.RunningJob running, List<CardLease> leases)
    {
        var job = running.Job;
        var feed = feeds.GetOrCreate(job.Id);
        feed.Publish(new JobEvent { Type = "state", JobId = job.Id, State = JobStates.Running });
        var sink = new JobSink(job, feed, jobs);
        metrics.Track(job, feed, sink); // request metrics observe the feed from here to its final state
        var t0 = DateTimeOffset.UtcNow;
        try
        {
            var result = await executor.ExecuteAsync(job, sink, running.Cancel.Token).ConfigureAwait(false);
            job.TokensIn = result.TokensIn;
            job.TokensOut = result.TokensOut;
            job.TtftMs = result.TtftMs;
            job.TpotMs = result.TpotMs;
            if (result.FinishReason == "cancelled") { job.State = running.Fail ? JobStates.Failed : JobStates.Cancelled; job.Reason = running.CancelReason ?? "cancelled"; }
            else { job.State = JobStates.Succeeded; job.Reason = result.FinishReason; }
        }
        catch (OperationCanceledException)
        {
            job.State = running.Fail ? JobStates.Failed : JobStates.Cancelled;
            job.Reason = running.CancelReason ?? "cancelled";
            job.TokensIn = sink.TokensIn;
        }
        catch (Exception e)
        {
            log.LogError(e, "job {Id} failed: {Message}", job.Id, e.Message);
            job.State = JobStates.Failed;
            job.Reason = e.Message.ReplaceLineEndings(" ");
            job.TokensIn = sink.TokensIn;
        }
        finally
        {
            foreach (var l in leases) l.Dispose();
        }
        job.Output = sink.Output;
        job.FinishedAt = DateTimeOffset.UtcNow;
        try { jobs.Finish(job); }
        catch (Exception e) { log.LogError(e, "job {Id}: cannot record its end: {Message}", job.Id, e.Message); }
        scheduler.Usage.Charge(job.User, job.Project, (job.FinishedAt.Value - t0).TotalSeconds, job.FinishedAt.Value);
        feed.Publish(new JobEvent { Type = "state", JobId = job.Id, State = job.State, Reason = job.Reason }, final: true);
        feeds.Retire(job.Id, TimeSpan.FromMinutes(1));
        queue.Finished(job.Id);
        log.LogInformation("job {Id} {State} ({Reason}): {In} prompt tokens, {Out} generated", job.Id, job.State, job.Reason, job.TokensIn, job.TokensOut);
    }

    /// <summary>A card that vanished (or stopped its heartbeat) fails the jobs running on it, with the reason.</summary>
    private void OnHardwareChanged(IReadOnlyList<CardChange> changes)
    {
        foreach (var change in changes.Where(c => c.Kind is CardChangeKind.Vanished or CardChangeKind.HeartbeatStopped))
        {
            foreach (var r in queue.RunningSnapshot())
            {
                if (r.Job.Allocation is null) continue;
                var alloc = allocations.Get(r.Job.Allocation);
                if (alloc is null || !alloc.Cards.Contains(change.Identity)) continue;
                r.Fail = true;
                queue.CancelRunning(r.Job.Id, $"card {change.Identity} {change.Reason}");
            }
        }
    }

    private void PruneIfDue()
    {
        var now = DateTimeOffset.UtcNow;
        if (now - _lastPrune < TimeSpan.FromMinutes(5)) return;
        _lastPrune = now;
        int n = jobs.Prune(TimeSpan.FromHours(config.Jobs.RetentionHours), config.Jobs.RetentionCount);
        if (n > 0) log.LogInformation("pruned {Count} finished jobs past retention", n);
    }
}
