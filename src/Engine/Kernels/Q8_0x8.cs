using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// Q8_0 with 8 rows interleaved ("Q8_0x8"), the <see cref="Q4_0x8"/> scheme for 8-bit blocks.
/// <para>
/// Layout, per group of 8 rows, per 32-element block (272 bytes, as 8 plain blocks): <c>[d: 8 halves][8 pieces × 32
/// bytes]</c>, piece c holding row r's quants 4c..4c+3 at 4r..4r+3. One load is 4 weights of each of 8 rows; one
/// <c>vpmaddubsw</c> of |w| against the activation broadcast given w's signs serves 8 rows. Two products already fill an
/// int16 lane (127·127·2), so every piece is widened with <c>vpmaddwd</c> and summed in int32.
/// </para>
/// The one- and four-token kernels are bit-identical.
/// </summary>
public static unsafe class Q8_0x8
{
    private const int BlockBytes = 272;

    /// <summary>Bytes of one packed group of 8 rows.</summary>
    public static long GroupBytes(int cols) => (long)(cols / 32) * BlockBytes;

    /// <summary>Interleaves groups [g0, g1) of a plain Q8_0 matrix; false if a scale is Inf or NaN (see <see cref="Q4_0x8.Pack"/>).</summary>
    public static bool Pack(byte* src, long rowBytes, int cols, int g0, int g1, byte* dst) =>
        RowGroups.PackScaleAndBytes(src, rowBytes, cols, g0, g1, dst, 34, 8);

    /// <summary>Σ over one piece: int32 lane r = Σ_k w[r][k]·a[k] for 4 weights of 8 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Piece(Vector256<sbyte> w, Vector256<sbyte> abs, byte* a) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(abs.AsByte(), Avx2.Sign(Vector256.Create(*(int*)a).AsSByte(), w)), Vector256<short>.One);

    /// <summary>Piece c of the block at <paramref name="blk"/> against activation bytes 4c..4c+3 at <paramref name="a"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Piece(byte* blk, byte* a, int c)
    {
        var w = Vector256.Load((sbyte*)blk + 16 + 32 * c);
        return Piece(w, Avx2.Abs(w).AsSByte(), a + 4 * c);
    }

    /// <summary>
    /// y[t·yStride + 8·g + r] = row r of group g · act[t] (four tokens per pass); a single token streams four groups at a
    /// time (<see cref="Dot1Quad"/>).
    /// </summary>
    public static void Dot(byte* group, int groups, byte* act, long actStride, int nTok, float* y, long yStride, int n)
        => RowGroups.ByFoursOrSideBySide(&Dot4, &Dot1, null, &Dot1Quad, group, groups, GroupBytes(n), act, actStride, nTok, y, yStride, n);

    private static void Dot1(byte* group, byte* act, float* y, int n)
    {
        float* dk = Q8Act.BitScales(act, n); // with the raw half bits of the weight scales: one multiply fewer per block
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++)
        {
            byte* blk = group + (long)b * BlockBytes;
            // two blocks are 8.5 lines: 9 lines every other block, unrolled (a per-block loop over 5 lines cost more than it saved)
            if ((b & 1) == 0) StreamPrefetch.Ahead576(blk);
            acc = Accumulate(acc, BlockSum(blk, act + 32 * b), RowGroups.HalfBits(blk), dk[b]);
        }
        Store(acc, y);
    }

    /// <summary>
    /// <see cref="Dot1"/> for four adjacent groups (rows 0-31 to y[0..31]), bit-identical to four <see cref="Dot1"/> calls:
    /// four weight streams side by side keep more memory requests in flight on one core (see <see cref="Q4_0x8"/>).
    /// </summary>
    private static void Dot1Quad(byte* g0, long groupBytes, byte* act, float* y, int n)
    {
        float* dk = Q8Act.BitScales(act, n);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        byte* p0 = g0, p1 = g0 + groupBytes, p2 = p1 + groupBytes, p3 = p2 + groupBytes;
        var prefetch = new StreamPrefetch.SideBySide(groupBytes, 4);
        for (int b = 0; b < n / 32; b++, p0 += BlockBytes, p1 += BlockBytes, p2 += BlockBytes, p3 += BlockBytes)
        {
            if ((b & 1) == 0) prefetch.Ahead576((long)b * BlockBytes, p0, p1, p2, p3);
            byte* a = act + 32 * b;
            acc0 = Accumulate(acc0, BlockSum(p0, a), RowGroups.HalfBits(p0), dk[b]);
            acc1 = Accumulate(acc1, BlockSum(p1, a), RowGroups.HalfBits(p1), dk[b]);
            acc2 = Accumulate(acc2, BlockSum(p2, a), RowGroups.HalfBits(p2), dk[b]);
            acc3 = Accumulate(acc3, BlockSum(p3, a), RowGroups.HalfBits(p3), dk[b]);
        }
        Store(acc0, y);
        Store(acc1, y + RowGroups.Rows);
        Store(acc2, y + 2 * RowGroups.Rows);
        Store(acc3, y + 3 * RowGroups.Rows);
    }

    /// <summary>Σ over the 8 pieces of one block (written out: the AOT compiler does not unroll the loop over them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockSum(byte* blk, byte* a) =>
        ((Piece(blk, a, 0) + Piece(blk, a, 1)) + (Piece(blk, a, 2) + Piece(blk, a, 3)))
        + ((Piece(blk, a, 4) + Piece(blk, a, 5)) + (Piece(blk, a, 6) + Piece(blk, a, 7)));

    private static void Dot4(byte* group, byte* act, long actStride, float* y, long yStride, int n, bool prefetch)
    {
        byte* a1 = act + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
        float* dk0 = Q8Act.BitScales(act, n), dk1 = Q8Act.BitScales(a1, n), dk2 = Q8Act.BitScales(a2, n), dk3 = Q8Act.BitScales(a3, n);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < n / 32; b++)
        {
            byte* blk = group + (long)b * BlockBytes;
            if (prefetch) StreamPrefetch.Ahead(blk, BlockBytes);
            int o = 32 * b;
            // running sums per token, piece after piece (written out): four live int32 vectors, not eight
            var (s0, s1, s2, s3) = Piece4(default, default, default, default, blk, act + o, a1 + o, a2 + o, a3 + o, 0);
            (s0, s1, s2, s3) = Piece4(s0, s1, s2, s3, blk, act + o, a1 + o, a2 + o, a3 + o, 1);
            (s0, s1, s2, s3) = Piece4(s0, s1, s2, s3, blk, act + o, a1 + o, a2 + o, a3 + o, 2);
            (s0, s1, s2, s3) = Piece4(s0, s1, s2, s3, blk, act + o, a1 + o, a2 + o, a3 + o, 3);
            (s0, s1, s2, s3) = Piece4(s0, s1, s2, s3, blk, act + o, a1 + o, a2 + o, a3 + o, 4);
            (s0, s1, s2, s3) = Piece4(s0, s1, s2, s3, blk, act + o, a1 + o, a2 + o, a3 + o, 5);
            (s0, s1, s2, s3) = Piece4(s0, s1, s2, s3, blk, act + o, a1 + o, a2 + o, a3 + o, 6);
            (s0, s1, s2, s3) = Piece4(s0, s1, s2, s3, blk, act + o, a1 + o, a2 + o, a3 + o, 7);
            var d = RowGroups.HalfBits(blk);
            acc0 = Accumulate(acc0, s0, d, dk0[b]);
            acc1 = Accumulate(acc1, s1, d, dk1[b]);
            acc2 = Accumulate(acc2, s2, d, dk2[b]);
            acc3 = Accumulate(acc3, s3, d, dk3[b]);
        }
        Store(acc0, y);
        Store(acc1, y + yStride);
        Store(acc2, y + 2 * yStride);
        Store(acc3, y + 3 * yStride);
    }

    /// <summary>acc + dw·da·Σ for one block of 8 rows in the scaled units of <see cref="RowGroups.HalfBits"/> (the same operations in both kernels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Accumulate(Vector256<float> acc, Vector256<int> sums, Vector256<float> dwBits, float dk) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), dwBits * Vector256.Create(dk), acc);

    /// <summary>Stores 8 accumulated sums as values (see <see cref="Accumulate"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> acc, float* y) => Vector256.Store(acc * Vector256.Create(RowGroups.HalfBitsToValue), y);

    /// <summary>(s0..s3) plus piece c of the block for four tokens, the weight load and its absolute value shared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>) Piece4(Vector256<int> s0, Vector256<int> s1,
        Vector256<int> s2, Vector256<int> s3, byte* blk, byte* a0, byte* a1, byte* a2, byte* a3, int c)
    {
        var w = Vector256.Load((sbyte*)blk + 16 + 32 * c);
        var u = Avx2.Abs(w).AsSByte();
        return (s0 + Piece(w, u, a0 + 4 * c), s1 + Piece(w, u, a1 + 4 * c), s2 + Piece(w, u, a2 + 4 * c), s3 + Piece(w, u, a3 + 4 * c));
    }
}
