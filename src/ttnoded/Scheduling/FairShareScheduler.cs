namespace Ttnoded.Scheduling;

/// <summary>
/// Decides which queued job runs next: priority class first, then fair share (the project, then the user, with the least
/// recent usage relative to its weight, counting work running now), then FIFO. A waiting job's class rises one point per
/// AgingSeconds, up to the highest priority now queued: so a starving low-priority job joins the top class within
/// (top - priority) × AgingSeconds, while jobs of equal priority are ordered by fair share, not by age (aging must not
/// turn a long backlog into plain FIFO). Per-user and per-project running limits skip a job without reordering the rest.
/// </summary>
public sealed class FairShareScheduler(SchedulingPolicy policy, UsageTracker usage)
{
    public SchedulingPolicy Policy => policy;

    public UsageTracker Usage => usage;

    /// <summary>Priority class of a job at <paramref name="now"/>, given the highest base priority queued.</summary>
    public long EffectivePriority(in QueuedJob job, DateTimeOffset now, int topPriority)
    {
        double waited = Math.Max(0, (now - job.SubmittedAt).TotalSeconds);
        long aged = job.Priority + (long)Math.Floor(waited / policy.AgingSeconds);
        return Math.Max(job.Priority, Math.Min(aged, topPriority));
    }

    /// <summary>The whole queue in run order (for queue positions), as if nothing were running.</summary>
    public List<QueuedJob> Order(IEnumerable<QueuedJob> queued, DateTimeOffset now, IReadOnlyDictionary<string, double>? runningUsage = null)
    {
        var list = queued.ToList();
        int top = list.Count == 0 ? 0 : list.Max(j => j.Priority);
        var keys = list.ToDictionary(j => j.Id, j => Key(j, now, top, runningUsage));
        list.Sort((a, b) => keys[a.Id].CompareTo(keys[b.Id]));
        return list;
    }

    /// <summary>The next job allowed to run, or null.</summary>
    /// <param name="runningPerUser">jobs running now per user</param>
    /// <param name="runningPerProject">jobs running now per project</param>
    /// <param name="runningUsage">engine-seconds used so far by running jobs, keyed "p:project" and "u:user"</param>
    public QueuedJob? PickNext(IEnumerable<QueuedJob> queued, DateTimeOffset now,
        IReadOnlyDictionary<string, int> runningPerUser, IReadOnlyDictionary<string, int> runningPerProject,
        IReadOnlyDictionary<string, double>? runningUsage = null, Func<QueuedJob, bool>? eligible = null)
    {
        var all = queued as IReadOnlyCollection<QueuedJob> ?? queued.ToList();
        int top = 0;
        foreach (var job in all) top = Math.Max(top, job.Priority);
        QueuedJob? best = null;
        SortKey bestKey = default;
        foreach (var job in all)
        {
            if (runningPerUser.GetValueOrDefault(job.User) >= policy.MaxRunningPerUser) continue;
            if (runningPerProject.GetValueOrDefault(job.Project) >= policy.MaxRunningPerProject) continue;
            if (eligible is not null && !eligible(job)) continue;
            var key = Key(job, now, top, runningUsage);
            if (best is null || key.CompareTo(bestKey) < 0) { best = job; bestKey = key; }
        }
        return best;
    }

    private SortKey Key(in QueuedJob j, DateTimeOffset now, int top, IReadOnlyDictionary<string, double>? running)
    {
        double projectUsage = usage.ProjectUsage(j.Project, now) + (running?.GetValueOrDefault("p:" + j.Project) ?? 0);
        double userUsage = usage.UserUsage(j.User, now) + (running?.GetValueOrDefault("u:" + j.User) ?? 0);
        return new SortKey(-EffectivePriority(j, now, top), projectUsage / policy.WeightOf(j.Project), userUsage, j.Id);
    }

    private readonly record struct SortKey(long NegPriority, double ProjectShare, double UserUsage, long Id) : IComparable<SortKey>
    {
        public int CompareTo(SortKey o)
        {
            int c = NegPriority.CompareTo(o.NegPriority);
            if (c != 0) return c;
            c = ProjectShare.CompareTo(o.ProjectShare);
            if (c != 0) return c;
            c = UserUsage.CompareTo(o.UserUsage);
            return c != 0 ? c : Id.CompareTo(o.Id);
        }
    }
}
