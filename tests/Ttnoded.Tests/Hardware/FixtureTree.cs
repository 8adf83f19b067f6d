using Ttnoded.Hardware;

namespace Ttnoded.Tests.Hardware;

/// <summary>
/// A private copy of a fixture tree under tests/fixtures/ (symlinks copied as symlinks), so a test can
/// rewrite attributes (heartbeats, versions) or remove a card without touching the committed trees.
/// </summary>
internal sealed class FixtureTree : IDisposable
{
    public static string FixturesDir { get; } = FindFixtures();

    private static string FindFixtures()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BareMetal.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("BareMetal.sln not found"), "tests", "fixtures");
    }

    public FixtureTree(string name)
    {
        Base = Path.Combine(Path.GetTempPath(), $"tthw-{name}-{Guid.NewGuid():N}");
        Root = Path.Combine(Base, "root");
        LockDir = Path.Combine(Base, "locks");
        Copy(Path.Combine(FixturesDir, name), Root);
    }

    public string Base { get; }
    public string Root { get; }
    public string LockDir { get; }
    public FakeTime Time { get; } = new();

    public HardwareMonitor Monitor(HardwareOptions? options = null) => new(Root, LockDir, options, Time);

    public string P(string rel) => Path.Combine(Root, rel.TrimStart('/'));

    public void Write(string rel, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(P(rel))!);
        File.WriteAllText(P(rel), text + "\n");
    }

    public void Delete(string rel)
    {
        var p = P(rel);
        if (new FileInfo(p).LinkTarget is not null || File.Exists(p)) File.Delete(p);
        else if (Directory.Exists(p)) Directory.Delete(p, recursive: true);
    }

    /// <summary>The class dir of card N (through the /sys/class/tenstorrent symlink).</summary>
    public string Class(int n) => $"sys/class/tenstorrent/tenstorrent!{n}";

    /// <summary>The hwmon dir of the first card of single-card fixtures.</summary>
    public const string Hwmon0 = "sys/class/hwmon/hwmon2";

    /// <summary>Bumps every tt_heartbeat so the next probe sees the firmware alive.</summary>
    public void BumpHeartbeats()
    {
        // Not a recursive walk: sysfs symlinks form cycles. The class links name every card.
        var cls = Path.Combine(Root, "sys", "class", "tenstorrent");
        if (!Directory.Exists(cls)) return;
        foreach (var dir in Directory.EnumerateFileSystemEntries(cls))
        {
            var f = Path.Combine(dir, "tt_heartbeat");
            if (File.Exists(f)) File.WriteAllText(f, (long.Parse(File.ReadAllText(f).Trim()) + 7) + "\n");
        }
    }

    /// <summary>Two probes ≥ 1 s apart with heartbeats moving: the steady state of a healthy node.</summary>
    public NodeHardwareSnapshot ProbeTwice(HardwareMonitor m)
    {
        m.Probe();
        Time.Advance(TimeSpan.FromSeconds(2));
        BumpHeartbeats();
        return m.Probe();
    }

    public static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var e in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            var dest = Path.Combine(to, e.Name);
            if (e.LinkTarget is not null) File.CreateSymbolicLink(dest, e.LinkTarget);
            else if (e is DirectoryInfo) Copy(e.FullName, dest);
            else File.Copy(e.FullName, dest);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Base, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class FakeTime : TimeProvider
{
    private DateTimeOffset _now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}
