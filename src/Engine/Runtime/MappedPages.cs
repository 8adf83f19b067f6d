using System.Runtime.InteropServices;

namespace TtEngine.Runtime;

/// <summary>Drops pages of a read-only file mapping from this process (they stay in the page cache and fault back in if read again).</summary>
internal static unsafe partial class MappedPages
{
    private const int MADV_DONTNEED = 4;

    /// <summary>Releases the whole pages inside [p, p+bytes); a failure only means the pages stay resident.</summary>
    public static void Release(byte* p, long bytes)
    {
        long page = Environment.SystemPageSize;
        long start = ((long)p + page - 1) / page * page, end = ((long)p + bytes) / page * page;
        if (end > start) _ = madvise((void*)start, (nuint)(end - start), MADV_DONTNEED);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(void* addr, nuint length, int advice);
}
