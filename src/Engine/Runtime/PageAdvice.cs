using System.Runtime.InteropServices;

namespace TtEngine.Runtime;

/// <summary>madvise for the engine's big buffers: drop file pages it no longer reads, ask for transparent huge pages.</summary>
internal static unsafe partial class PageAdvice
{
    private const int MADV_DONTNEED = 4;
    private const int MADV_HUGEPAGE = 14;

    /// <summary>The transparent huge page size on x86-64 and arm64 (4 KiB base pages).</summary>
    public const long HugePageBytes = 2 << 20;

    /// <summary>
    /// Releases the whole pages inside [p, p+bytes): a read-only file mapping's pages stay in the page cache and fault back
    /// in if read again; anonymous pages read back as zeros. A failure only means the pages stay resident.
    /// </summary>
    public static void Release(byte* p, long bytes)
    {
        long page = Environment.SystemPageSize;
        long start = ((long)p + page - 1) / page * page, end = ((long)p + bytes) / page * page;
        if (end > start) _ = madvise((void*)start, (nuint)(end - start), MADV_DONTNEED);
    }

    /// <summary>
    /// Asks for 2 MiB pages over the whole huge pages inside [p, p+bytes), before they are first touched. A weight stream
    /// then takes one TLB miss per 2 MiB instead of one per 4 KiB, which matters most in a VM (two-level page walks):
    /// 10-20% more read bandwidth on one thread here (bench/results.md). With THP off (or "never") nothing changes.
    /// </summary>
    public static void PreferHugePages(byte* p, long bytes)
    {
        long start = ((long)p + HugePageBytes - 1) / HugePageBytes * HugePageBytes, end = ((long)p + bytes) / HugePageBytes * HugePageBytes;
        if (end > start) _ = madvise((void*)start, (nuint)(end - start), MADV_HUGEPAGE);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(void* addr, nuint length, int advice);
}
