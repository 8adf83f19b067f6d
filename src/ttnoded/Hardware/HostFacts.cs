using System.Globalization;

namespace Ttnoded.Hardware;

/// <summary>Host-wide facts the checks need, read from the sysroot (module, hugepages, mounts, limits, cmdline).</summary>
internal sealed record HostFacts(
    bool DriverLoaded, string? DriverVersionText,
    long? Hugepages1G, long? FreeHugepages1G, IReadOnlyDictionary<int, long> Hugepages1GPerNode,
    IReadOnlyList<MountEntry> HugetlbfsMounts, string? Cmdline, bool IommuUnitsPresent,
    MemlockLimit? Memlock)
{
    public static HostFacts Read(Sysroot root)
    {
        bool loaded = Directory.Exists(root.Map("/sys/module/tenstorrent"));
        string? version = Sysroot.ReadOrNull(root.Map("/sys/module/tenstorrent/version"));
        const string hp = "/sys/kernel/mm/hugepages/hugepages-1048576kB";
        var perNode = new SortedDictionary<int, long>();
        foreach (var node in Sysroot.Entries(root.Map("/sys/devices/system/node"), "node*"))
        {
            if (!int.TryParse(Path.GetFileName(node).AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var n)) continue;
            if (Sysroot.ReadLong(Path.Join(node, "hugepages/hugepages-1048576kB/nr_hugepages")) is long pages) perNode[n] = pages;
        }
        var mounts = Sysroot.ReadLines(root.Map("/proc/mounts")).Select(MountEntry.Parse)
            .Where(m => m is { FsType: "hugetlbfs" }).Select(m => m!).ToList();
        return new HostFacts(loaded, version,
            Sysroot.ReadLong(root.Map(hp + "/nr_hugepages")), Sysroot.ReadLong(root.Map(hp + "/free_hugepages")),
            perNode, mounts, Sysroot.ReadOrNull(root.Map("/proc/cmdline")),
            Sysroot.Entries(root.Map("/sys/class/iommu")).Any(), MemlockLimit.Read(root.Map("/proc/self/limits")));
    }
}

/// <summary>One /proc/mounts line.</summary>
internal sealed record MountEntry(string Source, string MountPoint, string FsType, IReadOnlyList<string> Options)
{
    public static MountEntry? Parse(string line)
    {
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return f.Length < 4 ? null : new MountEntry(f[0], f[1].Replace("\\040", " "), f[2], f[3].Split(','));
    }

    public string? Option(string key) =>
        Options.FirstOrDefault(o => o.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..];

    /// <summary>pagesize=&lt;n&gt;&lt;K|M|G|T&gt; in bytes (any option order, like UMD's parser).</summary>
    public long? PageSizeBytes
    {
        get
        {
            var v = Option("pagesize");
            if (string.IsNullOrEmpty(v)) return null;
            long mult = char.ToUpperInvariant(v[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, 'T' => 1L << 40, _ => 1 };
            var digits = mult == 1 ? v : v[..^1];
            return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n * mult : null;
        }
    }
}

/// <summary>RLIMIT_MEMLOCK from /proc/self/limits ("Max locked memory"); null fields = unlimited.</summary>
internal sealed record MemlockLimit(long? Soft, long? Hard)
{
    public static MemlockLimit? Read(string limitsFile)
    {
        foreach (var line in Sysroot.ReadLines(limitsFile))
        {
            if (!line.StartsWith("Max locked memory", StringComparison.Ordinal)) continue;
            var f = line["Max locked memory".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2) return null;
            return new MemlockLimit(Parse(f[0]), Parse(f[1]));
        }
        return null;
        static long? Parse(string s) => s == "unlimited" ? null
            : long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
    }
}
