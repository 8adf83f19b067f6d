using TtProtocol.Jobs;
using Ttnoded.Allocations;
using Ttnoded.Api;
using Ttnoded.Config;
using Ttnoded.Inference;
using Ttnoded.Scheduling;
using Ttnoded.Security;
using Ttnoded.Store;

namespace Ttnoded.Jobs;

/// <summary>
/// Accepting, showing and cancelling jobs, with the rules of who may do what: users see and cancel their own jobs,
/// project members see the project's, root and the admin group see and do everything. Every state change is audited.
/// </summary>
public sealed class JobService(
    JobStore jobs, JobQueue queue, JobFeeds feeds, FairShareScheduler scheduler, DaemonConfig config,
    UserDirectory users, AllocationService allocations, IModelCatalog models, StateStore audit)
{
    public const int MaxPromptChars = 1 << 20;
    public const int MaxTokensLimit = 1 << 20;

    /// <summary>Validates, checks bounds and permissions, makes the job durable, then queues it.</summary>
    public JobInfo Submit(Caller caller, JobSubmitRequest req, string kind = "native")
    {
        try
        {
            var job = Validate(caller, req, kind);
            JobInfo accepted;
            lock (queue)
            {
                // Bounds are checked and the job inserted under one lock, so concurrent submitters cannot overshoot them.
                if (queue.QueuedCount >= config.Jobs.MaxQueued)
                    throw ApiException.TooMany($"the queue is full ({config.Jobs.MaxQueued} jobs queued); try again later");
                if (queue.QueuedCountOf(caller.Uid) >= config.Jobs.MaxQueuedPerUser)
                    throw ApiException.TooMany($"you have {config.Jobs.MaxQueuedPerUser} jobs queued, the per-user limit; wait for some to finish");
                // Checked again under the lock ModelUseGuard holds while removing a model, so no job queues for a removed one.
                if (models.Find(job.Model) is null) throw ApiException.NotFound($"model '{job.Model}' was removed from this node");
                jobs.Insert(job);
                feeds.GetOrCreate(job.Id).Publish(new JobEvent { Type = "state", JobId = job.Id, State = JobStates.Queued });
                // The reply shows the job as accepted: once enqueued, the scheduler may start it (and change this object)
                // before the reply is written.
                accepted = job.ToInfo(null, includeOutput: false);
                queue.Enqueue(job);
            }
            Audit(caller, "job.submit", $"job/{job.Id}", "ok", $"model={job.Model} priority={job.Priority} project={job.Project}");
            return accepted with { QueuePosition = PositionOf(job.Id) };
        }
        catch (ApiException e)
        {
            Audit(caller, "job.submit", "job", Denied(e), e.Message);
            throw;
        }
    }

    public JobInfo Get(Caller caller, long id)
    {
        var job = jobs.Get(id);
        if (job is null || !MaySee(caller, job)) throw ApiException.NotFound($"no job {id}");
        return job.ToInfo(job.State == JobStates.Queued ? PositionOf(id) : null);
    }

    /// <summary>Jobs the caller may see, filtered.</summary>
    public JobInfo[] List(Caller caller, string? state, string? user, string? project, int limit)
    {
        if (state is not null && state is not (JobStates.Queued or JobStates.Running or JobStates.Succeeded or JobStates.Failed or JobStates.Cancelled))
            throw ApiException.BadRequest($"unknown state '{state}' (queued, running, succeeded, failed, cancelled)", "state");
        var rows = jobs.List(state, uid: null, project, user, Math.Clamp(limit, 1, 10_000)).Where(j => MaySee(caller, j));
        var positions = Positions();
        return rows.Select(j => j.ToInfo(positions.TryGetValue(j.Id, out int p) ? p : null, includeOutput: false)).ToArray();
    }

    /// <summary>The queue in run order (queued jobs the caller may see), then what runs.</summary>
    public JobInfo[] Queue(Caller caller)
    {
        var order = scheduler.Order(queue.QueuedSnapshot(), DateTimeOffset.UtcNow);
        var result = new List<JobInfo>();
        foreach (var r in queue.RunningSnapshot())
            if (MaySee(caller, r.Job)) result.Add(r.Job.ToInfo(includeOutput: false));
        for (int i = 0; i < order.Count; i++)
        {
            var j = queue.QueuedJob(order[i].Id);
            if (j is not null && MaySee(caller, j)) result.Add(j.ToInfo(i + 1, includeOutput: false));
        }
        return [.. result];
    }

    /// <summary>Cancels a queued job at once, or a running one at its next decode step.</summary>
    public JobInfo Cancel(Caller caller, long id)
    {
        var job = jobs.Get(id);
        if (job is null || !MaySee(caller, job)) throw ApiException.NotFound($"no job {id}");
        if (!caller.IsAdmin && job.Uid != caller.Uid)
        {
            Audit(caller, "job.cancel", $"job/{id}", "denied", "not the owner");
            throw ApiException.Forbidden($"job {id} belongs to {job.User}; only its owner or an admin may cancel it");
        }
        if (JobStates.IsFinished(job.State)) throw ApiException.Conflict($"job {id} already {job.State}");
        string reason = caller.Uid == job.Uid ? "cancelled by its owner" : $"cancelled by {caller.UserName}";
        if (queue.TryRemoveQueued(id))
        {
            job.State = JobStates.Cancelled;
            job.Reason = reason;
            job.FinishedAt = DateTimeOffset.UtcNow;
            jobs.Finish(job);
            var feed = feeds.GetOrCreate(id);
            feed.Publish(new JobEvent { Type = "state", JobId = id, State = JobStates.Cancelled, Reason = reason }, final: true);
            feeds.Retire(id, TimeSpan.FromMinutes(1));
            queue.Signal();
        }
        else
        {
            queue.CancelRunning(id, reason);
        }
        Audit(caller, "job.cancel", $"job/{id}", "ok", reason);
        return (jobs.Get(id) ?? job).ToInfo(includeOutput: false);
    }

    /// <summary>True when the caller may see (and follow) the job.</summary>
    public bool MaySee(Caller caller, JobRecord job) =>
        caller.IsAdmin || job.Uid == caller.Uid || users.IsMember(caller.Uid, caller.Gid, job.Project);

    public JobRecord? Find(long id) => jobs.Get(id);

    private JobRecord Validate(Caller caller, JobSubmitRequest req, string kind)
    {
        if (string.IsNullOrWhiteSpace(req.Model)) throw ApiException.BadRequest("model is required", "model");
        if (models.Find(req.Model) is null)
        {
            var names = models.Names();
            throw ApiException.NotFound($"no model '{req.Model}' on this node ({(names.Count == 0 ? "none imported" : "have: " + string.Join(", ", names))})");
        }
        bool hasPrompt = req.Prompt is not null, hasChat = req.Messages is { Length: > 0 };
        if (hasPrompt == hasChat) throw ApiException.BadRequest("give exactly one of prompt or messages", "prompt");
        if (hasPrompt && req.Prompt!.Length > MaxPromptChars) throw ApiException.BadRequest($"prompt longer than {MaxPromptChars} characters", "prompt");
        if (hasChat)
        {
            long total = 0;
            for (int i = 0; i < req.Messages!.Length; i++)
            {
                var m = req.Messages[i];
                if (m is null || m.Role is not ("system" or "user" or "assistant"))
                    throw ApiException.BadRequest($"messages[{i}].role must be system, user or assistant", $"messages[{i}].role");
                if (m.Content is null) throw ApiException.BadRequest($"messages[{i}].content is required", $"messages[{i}].content");
                total += m.Content.Length;
            }
            if (total > MaxPromptChars) throw ApiException.BadRequest($"messages longer than {MaxPromptChars} characters", "messages");
        }
        if (req.MaxTokens is < 1 or > MaxTokensLimit) throw ApiException.BadRequest($"maxTokens must be 1..{MaxTokensLimit}, got {req.MaxTokens}", "maxTokens");
        if (req.Priority is < 0 or > 100) throw ApiException.BadRequest($"priority must be 0..100, got {req.Priority}", "priority");
        ValidateSampling(req.Sampling);

        string project = req.Project ?? caller.GroupName;
        if (req.Project is not null && !caller.IsAdmin && !users.IsMember(caller.Uid, caller.Gid, project))
            throw ApiException.Forbidden($"you are not a member of project (group) '{project}'");
        if (req.Allocation is not null)
        {
            var alloc = allocations.Get(req.Allocation) ?? throw ApiException.BadRequest($"no allocation '{req.Allocation}'", "allocation");
            if (!allocations.MayUse(caller, alloc)) throw ApiException.Forbidden($"allocation '{req.Allocation}' is not yours");
        }
        return new JobRecord
        {
            Uid = caller.Uid, User = caller.UserName, Project = project, Model = req.Model, Kind = kind, Request = req,
            Priority = req.Priority ?? 10, Allocation = req.Allocation, SubmittedAt = DateTimeOffset.UtcNow,
        };
    }

    private static void ValidateSampling(SamplingOptions? s)
    {
        if (s is null) return;
        if (s.Temperature is < 0 or > 10) throw ApiException.BadRequest($"temperature must be 0..10, got {s.Temperature}", "sampling.temperature");
        if (s.TopK is < 0) throw ApiException.BadRequest($"topK must be ≥ 0, got {s.TopK}", "sampling.topK");
        if (s.TopP is <= 0 or > 1) throw ApiException.BadRequest($"topP must be in (0, 1], got {s.TopP}", "sampling.topP");
        if (s.MinP is < 0 or > 1) throw ApiException.BadRequest($"minP must be 0..1, got {s.MinP}", "sampling.minP");
        if (s.RepetitionPenalty is <= 0 or > 10) throw ApiException.BadRequest($"repetitionPenalty must be in (0, 10], got {s.RepetitionPenalty}", "sampling.repetitionPenalty");
        if (s.PresencePenalty is < -2 or > 2) throw ApiException.BadRequest($"presencePenalty must be -2..2, got {s.PresencePenalty}", "sampling.presencePenalty");
        if (s.FrequencyPenalty is < -2 or > 2) throw ApiException.BadRequest($"frequencyPenalty must be -2..2, got {s.FrequencyPenalty}", "sampling.frequencyPenalty");
        if (s.Stop is { Length: > 16 }) throw ApiException.BadRequest("at most 16 stop strings", "sampling.stop");
        if (s.Stop is not null && s.Stop.Any(string.IsNullOrEmpty)) throw ApiException.BadRequest("stop strings must not be empty", "sampling.stop");
    }

    private int? PositionOf(long id) => Positions().TryGetValue(id, out int p) ? p : null;

    private Dictionary<long, int> Positions()
    {
        var order = scheduler.Order(queue.QueuedSnapshot(), DateTimeOffset.UtcNow);
        var map = new Dictionary<long, int>(order.Count);
        for (int i = 0; i < order.Count; i++) map[order[i].Id] = i + 1;
        return map;
    }

    private static string Denied(ApiException e) => e.Status switch { 403 => "denied", 429 => "throttled", _ => "rejected" };

    private void Audit(Caller c, string action, string target, string result, string detail) =>
        audit.Audit(c.Uid, c.UserName, c.Pid, action, target, result, detail);
}
