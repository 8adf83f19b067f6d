using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using TtEngine.Kernels;

namespace TtEngine.Runtime;

/// <summary>
/// Measures the machine's streaming read bandwidth: <c>threads</c> threads each sum their slice of a buffer much larger than
/// the last-level cache with 256-bit loads (the access pattern of a decode step, which reads every weight byte once).
/// Used by <c>ttctl engine bench</c> for the decode roofline.
/// </summary>
public static unsafe class MemoryBandwidth
{
    /// <summary>Best-of-<paramref name="passes"/> read bandwidth in bytes per second over a <paramref name="bytes"/> buffer (0 = <see cref="DefaultBytes"/>).</summary>
    public static double MeasureRead(int threads, long bytes = 0, int passes = 5)
    {
        threads = Math.Max(1, threads);
        if (bytes <= 0) bytes = DefaultBytes();
        bytes = bytes / (threads * 256L) * threads * 256L;
        // on the same huge pages as the interleaved weights, so the probe stays the best a streaming reader gets here
        using var memory = new NativeBuffer(bytes, clear: false, hugePages: true);
        byte* buf = memory.Pointer;
        NativeMemory.Fill(buf, (nuint)bytes, 1); // fault every page in before timing
        long slice = bytes / threads;
        double best = 0;
        using var pool = new WorkerPool(threads);
        var job = new Job { Buffer = buf, Slice = slice };
        for (int p = 0; p < passes; p++)
        {
            long t0 = Stopwatch.GetTimestamp();
            pool.Run(&ReadSlice, &job);
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            best = Math.Max(best, bytes / s);
        }
        return best;
    }

    /// <summary>1 GiB, or 4× the last-level cache when that is larger (server parts have L3s of hundreds of MiB).</summary>
    public static long DefaultBytes()
    {
        long llc = 0;
        try
        {
            foreach (string dir in Directory.EnumerateDirectories("/sys/devices/system/cpu/cpu0/cache", "index*"))
            {
                string size = File.ReadAllText(Path.Combine(dir, "size")).Trim();
                if (size.EndsWith('K') && long.TryParse(size.AsSpan(0, size.Length - 1), out long kib)) llc = Math.Max(llc, kib << 10);
                else if (size.EndsWith('M') && long.TryParse(size.AsSpan(0, size.Length - 1), out long mib)) llc = Math.Max(llc, mib << 20);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Math.Max(1L << 30, 4 * llc);
    }

    private struct Job
    {
        public byte* Buffer;
        public long Slice;
        public long Sink;
    }

    private static void ReadSlice(void* ctx, int index, int count)
    {
        var j = (Job*)ctx;
        byte* p = j->Buffer + index * j->Slice;
        Vector256<byte> a0 = default, a1 = default, a2 = default, a3 = default;
        for (long i = 0; i < j->Slice; i += 128)
        {
            // the kernels' prefetch, so the probe reports the best this machine gives a streaming reader, not a figure
            // the kernels can beat by prefetching (5-10% more than plain loads here)
            StreamPrefetch.Ahead(p + i, 128);
            a0 |= Vector256.LoadAligned(p + i);
            a1 |= Vector256.LoadAligned(p + i + 32);
            a2 |= Vector256.LoadAligned(p + i + 64);
            a3 |= Vector256.LoadAligned(p + i + 96);
        }
        Interlocked.Add(ref j->Sink, (long)((a0 | a1) | (a2 | a3)).GetElement(0));
    }
}
