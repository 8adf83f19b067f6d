using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TtEngine.Kernels;

/// <summary>
/// Q4_0 with 8 rows interleaved ("Q4_0x8"): the decode kernel's per-block fixed costs (int16→int32, convert, scale, FMA)
/// are paid once per 8 rows instead of once per row, which is what keeps the plain row kernel instruction-bound.
/// <para>
/// Layout, per group of 8 consecutive rows, per 32-element block b (144 bytes, the same as 8 plain Q4_0 blocks):
/// <c>[d: 8 halves, row r at 2r][4 chunks of 32 bytes]</c>, chunk c holding row r's quant bytes 4c..4c+3 at 4r..4r+3.
/// So one 32-byte load masked with 0x0F is elements 4c..4c+3 of all 8 rows, the same load shifted right by 4 is
/// elements 16+4c..16+4c+3; a broadcast of those 4 activation bytes makes one <c>vpmaddubsw</c> serve 8 rows.
/// The 8 products per block and row are summed in int16 (16 products of u ≤ 15 and |q| ≤ 127: at most 30480).
/// </para>
/// Results equal <see cref="QDot.Reference"/> within float rounding; the one- and four-token kernels are bit-identical.
/// </summary>
public static unsafe class Q4_0x8
{
    private const int BlockBytes = 144; // 8 × (2-byte scale + 16 quant bytes)

    /// <summary>Bytes of one packed group of 8 rows of <paramref name="cols"/> elements.</summary>
    public static long GroupBytes(int cols) => (long)(cols / 32) * BlockBytes;

    /// <summary>
    /// Interleaves rows [8·g0, 8·g1) of a plain Q4_0 matrix (<paramref name="rowBytes"/> apart) into <paramref name="dst"/>
    /// (the packed matrix's start). Returns false, leaving the groups unusable, if a scale is Inf or NaN (the kernel's
    /// half→float conversion is exact for finite values only): the caller then keeps the plain kernels.
    /// </summary>
    public static bool Pack(byte* src, long rowBytes, int cols, int g0, int g1, byte* dst) =>
        RowGroups.PackScaleAndBytes(src, rowBytes, cols, g0, g1, dst, 18, 4);

    /// <summary>
    /// Σ over one block of 8 rows: int16 sums of u·q for the 8 rows (two int16 lanes per row). Written out chunk by chunk:
    /// the AOT compiler does not unroll loops, and a 4-step loop's counter and address arithmetic was a quarter of the
    /// kernel's instructions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> BlockSums(byte* q, sbyte* a) =>
        (Chunk(q, a, 0) + Chunk(q, a, 1)) + (Chunk(q, a, 2) + Chunk(q, a, 3));

    /// <summary>Chunk c of one block: elements 4c..4c+3 (low nibbles) and 16+4c.. (high nibbles) of 8 rows times the activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Chunk(byte* q, sbyte* a, int c)
    {
        var w = Vector256.Load(q + 32 * c);
        return Pair(RowGroups.LowNibbles(w), RowGroups.HighNibbles(w), (byte*)a, c);
    }

    /// <summary>
    /// acc + dw·(da·Σu·q − 8·sa) for one block of 8 rows, in the scaled units of <see cref="RowGroups.HalfBits"/> and
    /// <see cref="Q8Act.BitScales"/> (<see cref="Store"/> undoes them): 7 operations where converting the half scales
    /// and forming dw·da, −8·sa took 11 (the same operations in the 1- and 4-token kernels).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Accumulate(Vector256<float> acc, Vector256<short> sums, Vector256<float> dwBits, float dk, float ok)
    {
        var dot = Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(sums, Vector256<short>.One));
        return Fma.MultiplyAdd(dwBits, Fma.MultiplyAdd(dot, Vector256.Create(dk), Vector256.Create(ok)), acc);
    }

    /// <summary>Stores 8 accumulated sums as values (see <see cref="Accumulate"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> acc, float* y) => Vector256.Store(acc * Vector256.Create(RowGroups.HalfBitsToValue), y);

    /// <summary>
    /// y[t·yStride + 8·g + r] = row r of group g · act[t] for r &lt; 8, g &lt; groups and t &lt; nTok (act rows
    /// <paramref name="actStride"/> bytes apart): four tokens per pass over a group, each loaded block used for all four;
    /// a single token streams four groups at a time (<see cref="Dot1Quad"/>), then two (<see cref="Dot1Pair"/>).
    /// </summary>
    public static void Dot(byte* group, int groups, byte* act, long actStride, int nTok, float* y, long yStride, int n)
        => RowGroups.ByFoursOrSideBySide(&Dot4, &Dot1, &Dot1Pair, &Dot1Quad, group, groups, GroupBytes(n), act, actStride, nTok, y, yStride, n);

    /// <summary>
    /// <see cref="Dot1"/> for four adjacent groups at once (rows 0-31 to y[0..31]), bit-identical to four <see cref="Dot1"/>
    /// calls: one thread streams four weight runs side by side, which keeps more memory requests in flight than two.
    /// Measured against <see cref="Dot1Pair"/> over the same matrix, alternating in one process: +1.4 to +2.7% at 2048
    /// columns, +3.9 to +4.2% at 8192; 1B Q4_0 one-thread decode +2.5 to +3%.
    /// </summary>
    private static void Dot1Quad(byte* g0, long groupBytes, byte* act, float* y, int n)
    {
        int nb = n / 32;
        float* dk = Q8Act.BitScales(act, n), ok = Q8Act.BitOffsets(act, n);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        byte* p0 = g0, p1 = g0 + groupBytes, p2 = p1 + groupBytes, p3 = p2 + groupBytes;
        sbyte* a = (sbyte*)act;
        var prefetch = new StreamPrefetch.SideBySide(groupBytes, 4);
        for (int b = 0; b < nb; b++, p0 += BlockBytes, p1 += BlockBytes, p2 += BlockBytes, p3 += BlockBytes, a += 32)
        {
            if ((b & 3) == 0) prefetch.Ahead576((long)b * BlockBytes, p0, p1, p2, p3);
            var (s0, s1) = BlockSumsPair(p0 + 16, p1 + 16, a);
            var (s2, s3) = BlockSumsPair(p2 + 16, p3 + 16, a);
            acc0 = Accumulate(acc0, s0, RowGroups.HalfBits(p0), dk[b], ok[b]);
            acc1 = Accumulate(acc1, s1, RowGroups.HalfBits(p1), dk[b], ok[b]);
            acc2 = Accumulate(acc2, s2, RowGroups.HalfBits(p2), dk[b], ok[b]);
            acc3 = Accumulate(acc3, s3, RowGroups.HalfBits(p3), dk[b], ok[b]);
        }
        Store(acc0, y);
        Store(acc1, y + RowGroups.Rows);
        Store(acc2, y + 2 * RowGroups.Rows);
        Store(acc3, y + 3 * RowGroups.Rows);
    }

    private static void Dot1(byte* group, byte* act, float* y, int n)
    {
        int nb = n / 32;
        float* dk = Q8Act.BitScales(act, n), ok = Q8Act.BitOffsets(act, n);
        var acc = Vector256<float>.Zero;
        byte* blk = group;
        sbyte* a = (sbyte*)act;
        for (int b = 0; b < nb; b++, blk += BlockBytes, a += 32)
        {
            PrefetchEveryFourBlocks(blk, b, nb);
            acc = Accumulate(acc, BlockSums(blk + 16, a), RowGroups.HalfBits(blk), dk[b], ok[b]);
        }
        Store(acc, y);
    }

    /// <summary>
    /// At every fourth block, prefetches the next four (576 bytes, 9 lines, unrolled) or what is left of the group: a line
    /// is prefetched once, not 1.33 times as with a prefetch per block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchEveryFourBlocks(byte* blk, int b, int nb)
    {
        if ((b & 3) != 0) return;
        if (b + 4 <= nb) StreamPrefetch.Ahead576(blk);
        else StreamPrefetch.Ahead(blk, (nb - b) * BlockBytes);
    }

    /// <summary>
    /// <see cref="Dot1"/> for two adjacent groups at once (rows 0-7 to y[0..7], rows 8-15 to y[8..15]), bit-identical to
    /// two <see cref="Dot1"/> calls: each activation broadcast and scale serves 16 rows, which leaves the core more room
    /// to overlap the two weight streams (+3% in a one-thread microbenchmark).
    /// </summary>
    private static void Dot1Pair(byte* g0, long groupBytes, byte* act, float* y, int n)
    {
        int nb = n / 32, b = 0;
        float* dk = Q8Act.BitScales(act, n), ok = Q8Act.BitOffsets(act, n);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        byte* p0 = g0, p1 = g0 + groupBytes;
        sbyte* a = (sbyte*)act;
        var prefetch = new StreamPrefetch.SideBySide(groupBytes, 2);
        for (; b < nb; b++, p0 += BlockBytes, p1 += BlockBytes, a += 32)
        {
            if ((b & 3) == 0)
            {
                // the next four blocks (9 lines) of both streams; past the group's end the next group of each is read anyway
                prefetch.At((long)b * BlockBytes);
                prefetch.Ahead576(p0);
                prefetch.Ahead576(p1);
            }
            var (s0, s1) = BlockSumsPair(p0 + 16, p1 + 16, a);
            acc0 = Accumulate(acc0, s0, RowGroups.HalfBits(p0), dk[b], ok[b]);
            acc1 = Accumulate(acc1, s1, RowGroups.HalfBits(p1), dk[b], ok[b]);
        }
        Store(acc0, y);
        Store(acc1, y + RowGroups.Rows);
    }

    /// <summary><see cref="BlockSums"/> of the same block of two groups, each activation broadcast loaded once for both.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short>, Vector256<short>) BlockSumsPair(byte* q0, byte* q1, sbyte* a)
    {
        var (s0, t0) = ChunkPair(q0, q1, a, 0);
        var (s1, t1) = ChunkPair(q0, q1, a, 1);
        var (s2, t2) = ChunkPair(q0, q1, a, 2);
        var (s3, t3) = ChunkPair(q0, q1, a, 3);
        return ((s0 + s1) + (s2 + s3), (t0 + t1) + (t2 + t3));
    }

    /// <summary><see cref="Chunk"/> c of the same block of two groups, sharing the two activation broadcasts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short>, Vector256<short>) ChunkPair(byte* q0, byte* q1, sbyte* a, int c)
    {
        var lo = Vector256.Create(*(int*)(a + 4 * c)).AsSByte();
        var hi = Vector256.Create(*(int*)(a + 16 + 4 * c)).AsSByte();
        var w = Vector256.Load(q0 + 32 * c);
        var v = Vector256.Load(q1 + 32 * c);
        return (Avx2.MultiplyAddAdjacent(RowGroups.LowNibbles(w), lo) + Avx2.MultiplyAddAdjacent(RowGroups.HighNibbles(w), hi),
            Avx2.MultiplyAddAdjacent(RowGroups.LowNibbles(v), lo) + Avx2.MultiplyAddAdjacent(RowGroups.HighNibbles(v), hi));
    }

    private static void Dot4(byte* group, byte* act, long actStride, float* y, long yStride, int n, bool prefetch)
    {
        int nb = n / 32;
        byte* a1 = act + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
        float* dk0 = Q8Act.BitScales(act, n), dk1 = Q8Act.BitScales(a1, n), dk2 = Q8Act.BitScales(a2, n), dk3 = Q8Act.BitScales(a3, n);
        float* ok0 = Q8Act.BitOffsets(act, n), ok1 = Q8Act.BitOffsets(a1, n), ok2 = Q8Act.BitOffsets(a2, n), ok3 = Q8Act.BitOffsets(a3, n);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* blk = group + (long)b * BlockBytes;
            if (prefetch) StreamPrefetch.Ahead(blk, BlockBytes);
            int o = b * 32;
            // running sums per token, chunk after chunk: four live int16 vectors instead of sixteen (which spilled)
            var (s0, s1, s2, s3) = Chunk4(default, default, default, default, blk + 16, act + o, a1 + o, a2 + o, a3 + o, 0);
            (s0, s1, s2, s3) = Chunk4(s0, s1, s2, s3, blk + 16, act + o, a1 + o, a2 + o, a3 + o, 1);
            (s0, s1, s2, s3) = Chunk4(s0, s1, s2, s3, blk + 16, act + o, a1 + o, a2 + o, a3 + o, 2);
            (s0, s1, s2, s3) = Chunk4(s0, s1, s2, s3, blk + 16, act + o, a1 + o, a2 + o, a3 + o, 3);
            var dw = RowGroups.HalfBits(blk);
            acc0 = Accumulate(acc0, s0, dw, dk0[b], ok0[b]);
            acc1 = Accumulate(acc1, s1, dw, dk1[b], ok1[b]);
            acc2 = Accumulate(acc2, s2, dw, dk2[b], ok2[b]);
            acc3 = Accumulate(acc3, s3, dw, dk3[b], ok3[b]);
        }
        Store(acc0, y);
        Store(acc1, y + yStride);
        Store(acc2, y + 2 * yStride);
        Store(acc3, y + 3 * yStride);
    }

    /// <summary>(s0..s3) plus <see cref="Chunk"/> c of one block for four tokens, the weight load and nibble split shared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short>, Vector256<short>, Vector256<short>, Vector256<short>) Chunk4(Vector256<short> s0, Vector256<short> s1,
        Vector256<short> s2, Vector256<short> s3, byte* q, byte* a0, byte* a1, byte* a2, byte* a3, int c)
    {
        var w = Vector256.Load(q + 32 * c);
        var lo = RowGroups.LowNibbles(w);
        var hi = RowGroups.HighNibbles(w);
        return (s0 + Pair(lo, hi, a0, c), s1 + Pair(lo, hi, a1, c), s2 + Pair(lo, hi, a2, c), s3 + Pair(lo, hi, a3, c));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pair(Vector256<byte> lo, Vector256<byte> hi, byte* a, int c) =>
        Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(a + 4 * c)).AsSByte()) + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(a + 16 + 4 * c)).AsSByte());
}
