namespace TtEngine.Runtime;

/// <summary>CPU facts the engine sizes itself by.</summary>
public static class CpuTopology
{
    private static readonly Lazy<int> s_physical = new(CountPhysicalCores);

    /// <summary>
    /// Physical cores this process may run on (SMT siblings counted once), from /sys/devices/system/cpu/*/topology;
    /// <see cref="Environment.ProcessorCount"/> when the topology cannot be read.
    /// </summary>
    public static int PhysicalCores => s_physical.Value;

    private static int CountPhysicalCores()
    {
        try
        {
            var cores = new HashSet<(string, string)>();
            int logical = 0;
            foreach (string dir in Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*"))
            {
                string name = Path.GetFileName(dir);
                if (name.Length < 4 || !int.TryParse(name.AsSpan(3), out _)) continue;
                string core = Path.Combine(dir, "topology", "core_id"), pkg = Path.Combine(dir, "topology", "physical_package_id");
                if (!File.Exists(core)) continue;
                string online = Path.Combine(dir, "online");
                if (File.Exists(online) && File.ReadAllText(online).Trim() == "0") continue;
                logical++;
                cores.Add((File.ReadAllText(pkg).Trim(), File.ReadAllText(core).Trim()));
            }
            if (cores.Count == 0) return Environment.ProcessorCount;
            // the process may be restricted (cgroup / affinity) to fewer logical CPUs than the machine has
            int allowed = Environment.ProcessorCount;
            return Math.Clamp(logical > allowed ? cores.Count * allowed / logical : cores.Count, 1, allowed);
        }
        catch (IOException) { return Environment.ProcessorCount; }
        catch (UnauthorizedAccessException) { return Environment.ProcessorCount; }
    }
}
