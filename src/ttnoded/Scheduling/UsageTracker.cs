namespace Ttnoded.Scheduling;

/// <summary>
/// Recent usage per project and per user, in engine-seconds, decayed exponentially with the policy's half-life,
/// so fair share looks at what each consumed lately, not forever. Thread-safe.
/// </summary>
public sealed class UsageTracker(TimeSpan halfLife)
{
    private readonly Dictionary<string, (double Value, DateTimeOffset At)> _usage = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public void Charge(string user, string project, double engineSeconds, DateTimeOffset now)
    {
        lock (_gate)
        {
            Add("p:" + project, engineSeconds, now);
            Add("u:" + user, engineSeconds, now);
        }
    }

    public double ProjectUsage(string project, DateTimeOffset now) { lock (_gate) return Get("p:" + project, now); }

    public double UserUsage(string user, DateTimeOffset now) { lock (_gate) return Get("u:" + user, now); }

    private void Add(string key, double amount, DateTimeOffset now) => _usage[key] = (Get(key, now) + amount, now);

    private double Get(string key, DateTimeOffset now)
    {
        if (!_usage.TryGetValue(key, out var u)) return 0;
        double dt = Math.Max(0, (now - u.At).TotalSeconds);
        return u.Value * Math.Pow(0.5, dt / halfLife.TotalSeconds);
    }
}
