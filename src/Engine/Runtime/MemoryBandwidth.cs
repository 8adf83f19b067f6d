using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TtEngine.Runtime;

/// <summary>
/// Measures the machine's streaming read bandwidth: <c>threads</c> threads each sum their slice of a buffer much larger than
/// the last-level cache with 256-bit loads (the access pattern of a decode step, which reads every weight byte once).
/// Used by <c>ttctl engine bench</c> for the decode roofline.
/// </summary>
public static unsafe class MemoryBandwidth
{
    /// <summary>Best-of-<paramref name="passes"/> read bandwidth in bytes per second over a <paramref name="bytes"/> buffer.</summary>
    public static double MeasureRead(int threads, long bytes = 256L << 20, int passes = 5)
    {
        threads = Math.Max(1, threads);
        bytes = bytes / (threads * 256L) * threads * 256L;
        byte* buf = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            for (long i = 0; i < bytes; i += 4096) buf[i] = (byte)i; // fault every page in before timing
            NativeMemory.Fill(buf, (nuint)bytes, 1);
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
        finally
        {
            NativeMemory.AlignedFree(buf);
        }
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
            a0 |= Vector256.LoadAligned(p + i);
            a1 |= Vector256.LoadAligned(p + i + 32);
            a2 |= Vector256.LoadAligned(p + i + 64);
            a3 |= Vector256.LoadAligned(p + i + 96);
        }
        Interlocked.Add(ref j->Sink, (long)((a0 | a1) | (a2 | a3)).GetElement(0));
    }
}
