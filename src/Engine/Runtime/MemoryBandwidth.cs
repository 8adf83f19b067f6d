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
    /// <summary>
    /// A probe buffer and its threads, kept so that single passes can be interleaved with other work: the engine benchmark
    /// reads the bandwidth between its decode steps, so that both figures of its ratio come from the same minutes of a
    /// machine whose neighbours move its bandwidth by ±15%.
    /// </summary>
    public sealed class ReadProbe : IDisposable
    {
        private readonly NativeBuffer _memory;
        private readonly WorkerPool _pool;
        private Job _job;

        /// <summary>Allocates and faults in the buffer (<paramref name="bytes"/>, 0 = <see cref="DefaultBytes"/>) and starts <paramref name="threads"/> readers.</summary>
        public ReadProbe(int threads, long bytes = 0)
        {
            threads = Math.Max(1, threads);
            if (bytes <= 0) bytes = DefaultBytes();
            Bytes = bytes / (threads * 256L) * threads * 256L;
            // on the same huge pages as the interleaved weights, so the probe stays the best a streaming reader gets here
            _memory = new NativeBuffer(Bytes, clear: false, hugePages: true);
            NativeMemory.Fill(_memory.Pointer, (nuint)Bytes, 1); // fault every page in before timing
            _pool = new WorkerPool(threads);
            _job = new Job { Buffer = _memory.Pointer, Slice = Bytes / threads };
        }

        /// <summary>Bytes read by one pass.</summary>
        public long Bytes { get; }

        /// <summary>Reads the whole buffer once; returns the bandwidth of that pass in bytes per second.</summary>
        public double Pass()
        {
            long t0 = Stopwatch.GetTimestamp();
            fixed (Job* job = &_job) _pool.Run(&ReadSlice, job);
            return Bytes / Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }

        public void Dispose()
        {
            _pool.Dispose();
            _memory.Dispose();
        }
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
