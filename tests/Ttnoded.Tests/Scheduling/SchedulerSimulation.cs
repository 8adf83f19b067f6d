using Ttnoded.Scheduling;

namespace Ttnoded.Tests.Scheduling;

/// <summary>
/// A discrete-event simulation of the dispatcher on a simulated clock: jobs arrive, the real
/// <see cref="FairShareScheduler"/> picks what runs in each free slot, finished work is charged as usage.
/// </summary>
internal sealed class SchedulerSimulation(FairShareScheduler scheduler, int slots)
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<(QueuedJob Job, double Duration)> _queued = [];
    private readonly List<(QueuedJob Job, double Start, double End)> _running = [];
    private long _nextId = 1;

    public double Now { get; private set; }
    public List<(QueuedJob Job, double Start, double End)> Finished { get; } = [];
    public Dictionary<string, double> ProjectSeconds { get; } = [];
    /// <summary>Called at every pick with the chosen job and every other queued job that was eligible.</summary>
    public Action<QueuedJob, IReadOnlyList<QueuedJob>, double, int>? OnPick { get; set; }
    public Func<QueuedJob, bool>? Eligible { get; set; }

    public IReadOnlyList<(QueuedJob Job, double Duration)> Queued => _queued;
    public IReadOnlyList<(QueuedJob Job, double Start, double End)> Running => _running;

    public QueuedJob Submit(string user, string project, int priority, double duration)
    {
        var job = new QueuedJob(_nextId++, user, project, priority, Epoch.AddSeconds(Now), "m");
        _queued.Add((job, duration));
        return job;
    }

    /// <summary>Runs until <paramref name="until"/>; <paramref name="beforeStep"/> may submit more work at each event.</summary>
    public void Run(double until, Action<SchedulerSimulation>? beforeStep = null)
    {
        while (Now < until)
        {
            beforeStep?.Invoke(this);
            Fill();
            if (_running.Count == 0 && _queued.Count == 0 && beforeStep is null) break;
            // Next event: the earliest completion, or (idle) one simulated second later, so arrivals can happen.
            double next = _running.Count == 0 ? Now + 1 : _running.Min(r => r.End);
            Now = Math.Min(until, Math.Max(Now, next));
            foreach (var r in _running.Where(r => r.End <= Now).ToList())
            {
                _running.Remove(r);
                Finished.Add(r);
                double secs = r.End - r.Start;
                ProjectSeconds[r.Job.Project] = ProjectSeconds.GetValueOrDefault(r.Job.Project) + secs;
                scheduler.Usage.Charge(r.Job.User, r.Job.Project, secs, Epoch.AddSeconds(r.End));
            }
        }
    }

    private void Fill()
    {
        while (_running.Count < slots && _queued.Count > 0)
        {
            var now = Epoch.AddSeconds(Now);
            var perUser = _running.GroupBy(r => r.Job.User).ToDictionary(g => g.Key, g => g.Count());
            var perProject = _running.GroupBy(r => r.Job.Project).ToDictionary(g => g.Key, g => g.Count());
            var usage = new Dictionary<string, double>();
            foreach (var r in _running)
            {
                usage["p:" + r.Job.Project] = usage.GetValueOrDefault("p:" + r.Job.Project) + (Now - r.Start);
                usage["u:" + r.Job.User] = usage.GetValueOrDefault("u:" + r.Job.User) + (Now - r.Start);
            }
            var queued = _queued.Select(q => q.Job).ToList();
            var pick = scheduler.PickNext(queued, now, perUser, perProject, usage, Eligible);
            if (pick is null) return;
            var eligibleOthers = queued.Where(q => q.Id != pick.Value.Id
                && perUser.GetValueOrDefault(q.User) < scheduler.Policy.MaxRunningPerUser
                && perProject.GetValueOrDefault(q.Project) < scheduler.Policy.MaxRunningPerProject
                && (Eligible?.Invoke(q) ?? true)).ToList();
            OnPick?.Invoke(pick.Value, eligibleOthers, Now, queued.Max(q => q.Priority));
            int i = _queued.FindIndex(q => q.Job.Id == pick.Value.Id);
            var chosen = _queued[i];
            _queued.RemoveAt(i);
            _running.Add((chosen.Job, Now, Now + chosen.Duration));
        }
    }
}
