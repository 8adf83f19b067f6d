using System.Globalization;

namespace Ttnoded.Metrics;

/// <summary>
/// A Prometheus histogram with fixed upper bounds. Observe is lock-free (one Interlocked per bucket, a CAS loop for the
/// sum); a scrape reads the buckets once and derives _count from them, so _count always equals the +Inf bucket.
/// </summary>
public sealed class Histogram(double[] bounds)
{
    private readonly double[] _bounds = bounds;
    private readonly long[] _counts = new long[bounds.Length + 1]; // last: above every bound
    private double _sum;

    public void Observe(double value)
    {
        if (double.IsNaN(value)) return;
        int i = Array.BinarySearch(_bounds, value);
        if (i < 0) i = ~i; // first bound ≥ value (le is inclusive)
        Interlocked.Increment(ref _counts[i]);
        double seen = Volatile.Read(ref _sum);
        while (true)
        {
            double was = Interlocked.CompareExchange(ref _sum, seen + value, seen);
            if (was.Equals(seen)) return;
            seen = was;
        }
    }

    /// <summary>Writes the _bucket/_sum/_count lines; <paramref name="labels"/> is "" or `k="v",...` without braces.</summary>
    public void WriteTo(TextWriter w, string name, string labels)
    {
        string sep = labels.Length > 0 ? labels + "," : "";
        long cumulative = 0;
        for (int i = 0; i < _bounds.Length; i++)
        {
            cumulative += Volatile.Read(ref _counts[i]);
            w.Write($"{name}_bucket{{{sep}le=\"{Prometheus.Number(_bounds[i])}\"}} {cumulative.ToString(CultureInfo.InvariantCulture)}\n");
        }
        cumulative += Volatile.Read(ref _counts[^1]);
        string braces = labels.Length > 0 ? "{" + labels + "}" : "";
        w.Write($"{name}_bucket{{{sep}le=\"+Inf\"}} {cumulative.ToString(CultureInfo.InvariantCulture)}\n");
        w.Write($"{name}_sum{braces} {Prometheus.Number(Volatile.Read(ref _sum))}\n");
        w.Write($"{name}_count{braces} {cumulative.ToString(CultureInfo.InvariantCulture)}\n");
    }
}

/// <summary>A monotonically increasing count (Interlocked only).</summary>
public sealed class Counter
{
    private long _value;

    public long Value => Volatile.Read(ref _value);

    public void Add(long n)
    {
        if (n > 0) Interlocked.Add(ref _value, n);
    }
}

/// <summary>Prometheus text-format helpers (exposition format 0.0.4).</summary>
public static class Prometheus
{
    public static string Number(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A label value with \, " and newline escaped.</summary>
    public static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    public static void Header(TextWriter w, string name, string type, string help) =>
        w.Write($"# HELP {name} {help}\n# TYPE {name} {type}\n");
}
