using Ttnoded.Scheduling;

namespace Ttnoded.Tests.Scheduling;

/// <summary>Properties of the run order, checked on seeded random workloads (docs/scheduling.md states them).</summary>
public sealed class FairShareSchedulerTests
{
    private static FairShareScheduler Scheduler(SchedulingPolicy policy) => new(policy, new UsageTracker(policy.UsageHalfLife));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Busy_projects_get_shares_within_10_percent_of_their_weights(int seed)
    {
        var weights = new Dictionary<string, double> { ["alpha"] = 1, ["beta"] = 2, ["gamma"] = 1 };
        var s = Scheduler(new SchedulingPolicy { AgingSeconds = 30, UsageHalfLife = TimeSpan.FromMinutes(10), ProjectWeights = weights });
        var sim = new SchedulerSimulation(s, slots: 2);
        var rng = new Random(seed);
        // Every project always has work waiting: the scheduler alone decides who gets the engine.
        sim.Run(until: 24 * 3600, beforeStep: x =>
        {
            foreach (var p in weights.Keys)
                while (x.Queued.Count(q => q.Job.Project == p) < 4)
                    x.Submit($"{p}-user{rng.Next(3)}", p, priority: 10, duration: 1 + rng.NextDouble() * 19);
        });
        double total = sim.ProjectSeconds.Values.Sum();
        foreach (var (p, w) in weights)
        {
            double expected = w / weights.Values.Sum();
            double actual = sim.ProjectSeconds[p] / total;
            Assert.True(Math.Abs(actual - expected) / expected < 0.10, $"{p}: share {actual:P1}, weight share {expected:P1}");
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    public void A_job_never_runs_while_an_eligible_job_of_a_higher_priority_class_waits(int seed)
    {
        var s = Scheduler(new SchedulingPolicy { AgingSeconds = 20, MaxRunningPerUser = 2 });
        var sim = new SchedulerSimulation(s, slots: 3);
        var rng = new Random(seed);
        int violations = 0, picks = 0;
        sim.OnPick = (chosen, others, now, top) =>
        {
            picks++;
            var at = SchedulerSimulation.Epoch.AddSeconds(now);
            long mine = s.EffectivePriority(chosen, at, top);
            if (others.Any(o => s.EffectivePriority(o, at, top) > mine)) violations++;
        };
        sim.Run(until: 6 * 3600, beforeStep: x =>
        {
            if (rng.NextDouble() < 0.35)
                x.Submit($"user{rng.Next(5)}", $"proj{rng.Next(3)}", priority: rng.Next(0, 101), duration: 1 + rng.NextDouble() * 30);
        });
        Assert.True(picks > 500, $"only {picks} picks");
        Assert.Equal(0, violations);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void A_low_priority_job_starts_within_the_aging_bound_under_a_stream_of_high_priority_work(int seed)
    {
        const double aging = 10, maxDuration = 20;
        var s = Scheduler(new SchedulingPolicy { AgingSeconds = aging });
        var sim = new SchedulerSimulation(s, slots: 1);
        var rng = new Random(seed);
        QueuedJob? low = null;
        sim.Run(until: 4 * 3600, beforeStep: x =>
        {
            while (x.Queued.Count(q => q.Job.Priority == 50) < 10)
                x.Submit($"busy{rng.Next(4)}", "busy", priority: 50, duration: 1 + rng.NextDouble() * (maxDuration - 1));
            if (low is null && x.Now >= 600) low = x.Submit("quiet", "quiet", priority: 0, duration: 5);
        });
        Assert.NotNull(low);
        var run = sim.Finished.Single(f => f.Job.Id == low!.Value.Id);
        double waited = run.Start - (low!.Value.SubmittedAt - SchedulerSimulation.Epoch).TotalSeconds;
        // It joins the top class after (50 - 0) × aging, then wins on fair share at the next free slot.
        double bound = (50 - 0) * aging + maxDuration;
        Assert.True(waited <= bound, $"waited {waited:F0}s, bound {bound:F0}s");
        Assert.True(waited >= 40 * aging, $"started after {waited:F0}s: it jumped the higher-priority stream too early");
    }

    [Fact]
    public void Per_user_running_limit_is_never_exceeded()
    {
        var s = Scheduler(new SchedulingPolicy { MaxRunningPerUser = 1 });
        var sim = new SchedulerSimulation(s, slots: 4);
        for (int i = 0; i < 20; i++) sim.Submit("alice", "p", 10, 10);
        for (int i = 0; i < 3; i++) sim.Submit("bob", "p", 10, 10);
        int maxAlice = 0;
        sim.OnPick = (_, _, _, _) => maxAlice = Math.Max(maxAlice, sim.Running.Count(r => r.Job.User == "alice"));
        sim.Run(until: 1000);
        Assert.Equal(23, sim.Finished.Count);
        Assert.True(maxAlice <= 1);
        // Overlap check on the finished timeline: alice's jobs never ran at the same time.
        var alice = sim.Finished.Where(f => f.Job.User == "alice").OrderBy(f => f.Start).ToList();
        for (int i = 1; i < alice.Count; i++) Assert.True(alice[i].Start >= alice[i - 1].End);
    }

    [Fact]
    public void Within_a_priority_the_lighter_project_goes_first_then_fifo()
    {
        var s = Scheduler(new SchedulingPolicy());
        var now = SchedulerSimulation.Epoch;
        s.Usage.Charge("h", "heavy", 3600, now);
        var jobs = new[]
        {
            new QueuedJob(1, "h", "heavy", 10, now, "m"),
            new QueuedJob(2, "l", "light", 10, now.AddSeconds(1), "m"),
            new QueuedJob(3, "l", "light", 10, now.AddSeconds(2), "m"),
            new QueuedJob(4, "x", "heavy", 90, now.AddSeconds(3), "m"),
        };
        var order = s.Order(jobs, now.AddSeconds(5)).Select(j => j.Id).ToArray();
        Assert.Equal(new long[] { 4, 2, 3, 1 }, order);
    }
}
