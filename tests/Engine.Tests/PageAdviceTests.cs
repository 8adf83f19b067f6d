using TtEngine.Runtime;

namespace TtEngine.Tests;

/// <summary>Buffers the engine streams (interleaved weights, KV cache, the bandwidth probe) ask for transparent huge pages.</summary>
public sealed unsafe class PageAdviceTests
{
    [Fact]
    public void Huge_page_buffers_are_2MiB_aligned_and_eligible_for_transparent_huge_pages()
    {
        string mode = File.Exists("/sys/kernel/mm/transparent_hugepage/enabled")
            ? File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled") : "[never]";
        using var huge = new NativeBuffer(8 * PageAdvice.HugePageBytes, hugePages: true);
        using var small = new NativeBuffer(PageAdvice.HugePageBytes - 64, hugePages: true);
        Assert.Equal(0, (long)huge.Pointer % PageAdvice.HugePageBytes);
        Assert.Equal(0, (long)small.Pointer % 64);
        if (mode.Contains("[never]")) return; // THP off in this kernel: the advice is a no-op and nothing more can be checked
        Assert.Equal(1, ThpEligible((long)huge.Pointer));
        if (mode.Contains("[madvise]"))
        {
            using var plain = new NativeBuffer(8 * PageAdvice.HugePageBytes);
            Assert.Equal(0, ThpEligible((long)plain.Pointer)); // only what was advised
        }
    }

    /// <summary>The THPeligible flag of the mapping holding <paramref name="address"/> in /proc/self/smaps.</summary>
    private static int ThpEligible(long address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            // a mapping's header is "lo-hi perms offset dev inode [path]"; its fields follow as "Name: value"
            string first = line.Split(' ', 2)[0];
            int dash = first.IndexOf('-');
            if (dash > 0 &&
                long.TryParse(first.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out long lo) &&
                long.TryParse(first.AsSpan(dash + 1), System.Globalization.NumberStyles.HexNumber, null, out long hi))
                inside = address >= lo && address < hi;
            else if (inside && line.StartsWith("THPeligible:", StringComparison.Ordinal))
                return int.Parse(line.AsSpan(12).Trim());
        }
        throw new InvalidOperationException($"no mapping with THPeligible holds 0x{address:x}");
    }
}
