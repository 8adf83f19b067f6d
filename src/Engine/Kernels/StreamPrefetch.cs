using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace TtEngine.Kernels;

/// <summary>
/// Software prefetch for kernels that stream weights once (decode) and for the bandwidth probe, which reads the same way
/// so that it stays the best a streaming reader gets here. Two distances: into L1 a little ahead, into L2 far ahead.
/// </summary>
/// <remarks>
/// Measured on one thread with 600 MB matrices on huge pages (Q4_0x8, Xeon, bench/results.md): no software prefetch
/// 7.8-8.2 GB/s; L1 only, 3 KiB ahead, 12.1-13.4; L1 2 KiB + L2 12 KiB ahead 13.7-15.4, 90-95% of the probe. The L1
/// prefetches alone are bounded by the core's fill buffers (a dozen lines in flight); the far L2 prefetch lets the
/// memory requests start early without holding one.
/// </remarks>
internal static unsafe class StreamPrefetch
{
    /// <summary>Bytes ahead of the read position for the L1 prefetch.</summary>
    public const int L1Ahead = 2048;

    /// <summary>Bytes ahead of the read position for the L2 prefetch.</summary>
    public const int L2Ahead = 12288;

    /// <summary>
    /// <see cref="Ahead"/> for 576 bytes (four Q4_0x8 blocks, 9 lines), unrolled by hand: the AOT compiler keeps a loop of
    /// more than four lines as a loop, whose counter and address arithmetic cost as much as the kernel's saving.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Ahead576(byte* p) => Lines576(p + L1Ahead, p + L2Ahead);

    /// <summary>Prefetches the lines of [p + L1Ahead, +bytes) into L1 and of [p + L2Ahead, +bytes) into L2 (past a buffer's end a prefetch is harmless).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Ahead(byte* p, int bytes) => Lines(p + L1Ahead, p + L2Ahead, bytes);

    /// <summary>The lines of [p, +bytes) into L1 (attention: the cache rows read next).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void IntoL1(byte* p, int bytes)
    {
        if (!Sse.IsSupported) return;
        for (int o = 0; o < bytes; o += 64) Sse.Prefetch0(p + o);
    }

    /// <summary>The lines of [l1, +bytes) into L1 and of [l2, +bytes) into L2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lines(byte* l1, byte* l2, int bytes)
    {
        if (!Sse.IsSupported) return;
        for (int o = 0; o < bytes; o += 64) Line(l1, l2, o);
    }

    /// <summary><see cref="Lines"/> for 576 bytes, written out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lines576(byte* l1, byte* l2)
    {
        if (!Sse.IsSupported) return;
        Line(l1, l2, 0); Line(l1, l2, 64); Line(l1, l2, 128); Line(l1, l2, 192); Line(l1, l2, 256);
        Line(l1, l2, 320); Line(l1, l2, 384); Line(l1, l2, 448); Line(l1, l2, 512);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Line(byte* l1, byte* l2, int offset)
    {
        Sse.Prefetch0(l1 + offset);
        Sse.Prefetch2(l2 + offset);
    }

    /// <summary>
    /// Prefetch for a kernel that reads adjacent groups side by side (two: groups 2k and 2k+1, then 2k+2 and 2k+3; or four),
    /// each group <c>groupBytes</c> long: each stream's next bytes are in its own next group, that many groups on, not in a
    /// partner's. With plain <see cref="Ahead"/> a stream's prefetch ran into the partner group, which was being read
    /// anyway, so every second group started cold, unprefetched for its first <see cref="L2Ahead"/> bytes: more than
    /// half of an 8B model's 18 KiB Q4_K groups.
    /// </summary>
    public struct SideBySide
    {
        private readonly long _groupBytes;
        private long _l1, _l2;       // displacement of the prefetch targets from the read position
        private long _next1, _next2; // read offset in the group at which a target moves on to the stream's next own group
        private readonly long _skip;  // the partners' groups, skipped at that move

        public SideBySide(long groupBytes, int streams)
        {
            _groupBytes = groupBytes;
            _skip = (streams - 1) * groupBytes;
            _l1 = L1Ahead;
            _l2 = L2Ahead;
            _next1 = groupBytes - L1Ahead;
            _next2 = groupBytes - L2Ahead;
            At(0);
        }

        /// <summary>Moves the targets for reads at <paramref name="offset"/> in the group (offsets only grow).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void At(long offset)
        {
            // target = p + D + ⌊(offset + D) / groupBytes⌋·(streams − 1)·groupBytes, kept without a division
            while (offset >= _next1) { _l1 += _skip; _next1 += _groupBytes; }
            while (offset >= _next2) { _l2 += _skip; _next2 += _groupBytes; }
        }

        /// <summary><see cref="Ahead"/> of a stream whose read position is <paramref name="p"/>, at the offset last given to <see cref="At"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Ahead(byte* p, int bytes) => Lines(p + _l1, p + _l2, bytes);

        /// <summary><see cref="StreamPrefetch.Ahead576"/> of a stream at the offset last given to <see cref="At"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Ahead576(byte* p) => Lines576(p + _l1, p + _l2);

        /// <summary>Moves to <paramref name="offset"/> (<see cref="At"/>), then <see cref="Ahead576(byte*)"/> of four streams.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Ahead576(long offset, byte* p0, byte* p1, byte* p2, byte* p3)
        {
            At(offset);
            Lines576(p0 + _l1, p0 + _l2);
            Lines576(p1 + _l1, p1 + _l2);
            Lines576(p2 + _l1, p2 + _l2);
            Lines576(p3 + _l1, p3 + _l2);
        }
    }

}
