using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// Q6_K with 8 rows interleaved ("Q6_Kx8"), the <see cref="Q4_0x8"/> scheme for 6-bit super-blocks (the classifier of
/// Q4_0 files, attn_v/ffn_down of Q4_K_M files).
/// <para>
/// Layout, per group of 8 rows, per 256-element super-block (1680 bytes, as the plain rows): <c>[d: 8 halves]</c> then,
/// per 32-element block j, 208 bytes: <c>[sc: 16 bytes, row r's two 16-element scales at 2r, 2r+1][A: 4 × 32][B: 2 × 32]</c>.
/// Byte 4r+k of A<sub>c</sub> holds row r's whole 6-bit weight 4c+k in bits 0-5 and the top 2 bits of weight 16+4c+k in
/// bits 6-7; B<sub>h</sub> holds the low 4 bits of weights 16+8h+k (low nibble) and 16+8h+4+k (high nibble). So 6 loads
/// and 22 operations (one mask for each of the first four pieces, shift-mask-or for the others) give 8 vectors of 4
/// six-bit weights of each of 8 rows, and one <c>vpmaddubsw</c> against a 4-byte activation broadcast serves 8 rows.
/// </para>
/// <para>
/// Weights are used unsigned (u = q+32 ≤ 63: two products per int16 lane, pairs of pieces ≤ 32004), scaled per 16 elements
/// with <c>vpmaddwd</c>, and the −32 is one correction per block: 32·(sc₀·Σa[0..15] + sc₁·Σa[16..31]). The activations
/// have one scale per super-block (<see cref="Q8Act.QuantizeSuperBlocks"/>), so a super-block's sums stay in int32
/// (|Σ| ≤ 8 × 33 M) and are converted and scaled once. The one- and four-token kernels are bit-identical.
/// </summary>
public static unsafe class Q6_Kx8
{
    private const int SuperBytes = 1680;
    private const int BlockBytes = 208;

    /// <summary>Bytes of one packed group of 8 rows.</summary>
    public static long GroupBytes(int cols) => (long)(cols / 256) * SuperBytes;

    /// <summary>Interleaves groups [g0, g1) of a plain Q6_K matrix; false if a d is Inf or NaN (see <see cref="Q4_0x8.Pack"/>).</summary>
    public static bool Pack(byte* src, long rowBytes, int cols, int g0, int g1, byte* dst)
    {
        int ns = cols / 256;
        long gBytes = GroupBytes(cols);
        bool finite = true;
        byte* u = stackalloc byte[256];
        for (int g = g0; g < g1; g++)
        {
            byte* rows0 = src + (long)g * RowGroups.Rows * rowBytes;
            for (int i = 0; i < ns; i++)
            {
                byte* o = dst + g * gBytes + (long)i * SuperBytes;
                for (int r = 0; r < RowGroups.Rows; r++)
                {
                    byte* blk = rows0 + r * rowBytes + i * 210;
                    ushort d = Unsafe.ReadUnaligned<ushort>(blk + 208);
                    finite &= (d & 0x7C00) != 0x7C00;
                    Unsafe.WriteUnaligned(o + 2 * r, d);
                    Unpack(blk, u);
                    for (int j = 0; j < 8; j++)
                    {
                        byte* ob = o + 16 + j * BlockBytes;
                        if (r == 0) new Span<byte>(ob + 144, 64).Clear(); // H bytes are ORed together row by row
                        ob[2 * r] = blk[192 + 2 * j];
                        ob[2 * r + 1] = blk[192 + 2 * j + 1];
                        byte* e = u + 32 * j;
                        for (int c = 0; c < 4; c++)
                            for (int k = 0; k < 4; k++)
                            {
                                int first = e[4 * c + k], second = e[16 + 4 * c + k];
                                ob[16 + 32 * c + 4 * r + k] = (byte)(first | (second >> 4) << 6);
                                ob[144 + 32 * (c >> 1) + 4 * r + k] |= (byte)((second & 0xF) << (4 * (c & 1)));
                            }
                    }
                }
            }
        }
        return finite;
    }

    /// <summary>The 256 unsigned 6-bit values (q+32) of one plain super-block, in element order.</summary>
    private static void Unpack(byte* blk, byte* u)
    {
        for (int h = 0; h < 2; h++)
        {
            byte* ql = blk + 64 * h, qh = blk + 128 + 32 * h;
            for (int l = 0; l < 32; l++)
            {
                u[128 * h + l] = (byte)((ql[l] & 0xF) | ((qh[l] & 3) << 4));
                u[128 * h + l + 32] = (byte)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
                u[128 * h + l + 64] = (byte)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                u[128 * h + l + 96] = (byte)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
            }
        }
    }

    /// <summary>The 8 unsigned weight vectors of one block: w[c] (elements 4c..4c+3) and w[4+c] (elements 16+4c..).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BlockWeights(byte* b, out Vector256<byte> w0, out Vector256<byte> w1, out Vector256<byte> w2, out Vector256<byte> w3,
        out Vector256<byte> w4, out Vector256<byte> w5, out Vector256<byte> w6, out Vector256<byte> w7)
    {
        Vector256<byte> a0 = Vector256.Load(b + 16), a1 = Vector256.Load(b + 48), a2 = Vector256.Load(b + 80), a3 = Vector256.Load(b + 112);
        FirstHalf(a0, a1, a2, a3, out w0, out w1, out w2, out w3);
        SecondHalf(b, a0, a1, a2, a3, out w4, out w5, out w6, out w7);
    }

    /// <summary>Bits 6-7 of each byte moved to bits 4-5 (the top 2 bits of a second-half weight), the rest cleared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Top2(Vector256<byte> a) => Avx2.ShiftRightLogical(a.AsUInt16(), 2).AsByte() & Vector256.Create((byte)0x30);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Mul(Vector256<byte> w, byte* a) => Avx2.MultiplyAddAdjacent(w, Vector256.Create(*(int*)a).AsSByte());

    /// <summary>Both 16-element activation sums of block k in every int32 lane (<see cref="Q8Act.HalfSums"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> HalfSums(int* h, int k) => Vector256.Create(h[k]).AsInt16();

    /// <summary>Σ sc·u·q for one block of 8 rows, in int32 (the −32 offset's share is <see cref="OffsetShare"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockDot(Vector256<short> p0, Vector256<short> p1, Vector256<short> p2, Vector256<short> p3, Vector256<short> scPairs)
    {
        var (sc0, sc1) = Scales(scPairs);
        return (Avx2.MultiplyAddAdjacent(p0, sc0) + Avx2.MultiplyAddAdjacent(p1, sc0)) + (Avx2.MultiplyAddAdjacent(p2, sc1) + Avx2.MultiplyAddAdjacent(p3, sc1));
    }

    /// <summary>sc₀·S₀ + sc₁·S₁ for one block: summed over a super-block, times 32, it is what the −32 offset takes away.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> OffsetShare(Vector256<short> scPairs, Vector256<short> sums) => Avx2.MultiplyAddAdjacent(scPairs, sums);

    /// <summary>Each row's scale of the first and of the last 16 elements in both int16 lanes of its int32 lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short>, Vector256<short>) Scales(Vector256<short> scPairs) =>
        (Avx2.Shuffle(scPairs.AsByte(), Vector256.Create((byte)0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13)).AsInt16(),
         Avx2.Shuffle(scPairs.AsByte(), Vector256.Create((byte)2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15, 2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15)).AsInt16());

    /// <summary>Weight vectors w0..w3 (the block's first 16 elements) from its four A vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FirstHalf(Vector256<byte> a0, Vector256<byte> a1, Vector256<byte> a2, Vector256<byte> a3,
        out Vector256<byte> w0, out Vector256<byte> w1, out Vector256<byte> w2, out Vector256<byte> w3)
    {
        var six = Vector256.Create((byte)0x3F);
        w0 = a0 & six;
        w1 = a1 & six;
        w2 = a2 & six;
        w3 = a3 & six;
    }

    /// <summary>Weight vectors w4..w7 (the block's last 16 elements): low nibbles from B, top bits from the A vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SecondHalf(byte* b, Vector256<byte> a0, Vector256<byte> a1, Vector256<byte> a2, Vector256<byte> a3,
        out Vector256<byte> w4, out Vector256<byte> w5, out Vector256<byte> w6, out Vector256<byte> w7)
    {
        var four = Vector256.Create((byte)0x0F);
        Vector256<byte> b0 = Vector256.Load(b + 144), b1 = Vector256.Load(b + 176);
        w4 = (b0 & four) | Top2(a0);
        w5 = (Avx2.ShiftRightLogical(b0.AsUInt16(), 4).AsByte() & four) | Top2(a1);
        w6 = (b1 & four) | Top2(a2);
        w7 = (Avx2.ShiftRightLogical(b1.AsUInt16(), 4).AsByte() & four) | Top2(a3);
    }

    /// <summary>Σ sc·u·q over 16 elements (four weight vectors against the activation bytes at <paramref name="a"/>), in int32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> HalfDot(Vector256<byte> wa, Vector256<byte> wb, Vector256<byte> wc, Vector256<byte> wd, byte* a, Vector256<short> sc) =>
        Avx2.MultiplyAddAdjacent(Mul(wa, a) + Mul(wb, a + 4), sc) + Avx2.MultiplyAddAdjacent(Mul(wc, a + 8) + Mul(wd, a + 12), sc);

    /// <summary>The block's Σ sc·u·q less the −32 offset's share: 32·(sc₀·S₀ + sc₁·S₁).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Corrected(Vector256<int> dot, Vector256<short> scPairs, Vector256<short> sums) =>
        dot - Avx2.ShiftLeftLogical(OffsetShare(scPairs, sums), 5);

    /// <summary>acc + d·da·Σ over one super-block of 8 rows (the same operations in both kernels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Finish(Vector256<float> acc, Vector256<int> dot, Vector256<float> d, float da) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), d * Vector256.Create(da), acc);

    /// <summary>y[t·yStride + r] = row r · act[t] for the 8 rows of <paramref name="group"/>, t &lt; nTok (four tokens per pass).</summary>
    public static void Dot(byte* group, int groups, byte* act, long actStride, int nTok, float* y, long yStride, int n)
        => RowGroups.ByFours(&Dot4, &Dot1, group, groups, GroupBytes(n), act, actStride, nTok, y, yStride, n);

    private static void Dot1(byte* group, byte* act, float* y, int n)
    {
        float* da = Q8Act.Scales(act, n);
        int* hs = Q8Act.HalfSums(act, n);
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = group + (long)i * SuperBytes;
            StreamPrefetch.Ahead(blk, 16);
            // the offset shares are summed apart and taken away once per super-block: a shift and a subtract fewer per block
            Vector256<int> dot = Vector256<int>.Zero, off = Vector256<int>.Zero;
            for (int j = 0; j < 8; j++)
            {
                byte* b = blk + 16 + j * BlockBytes;
                StreamPrefetch.Ahead(b, BlockBytes); // per block: a loop over the super-block's 27 lines costs more than it saves
                byte* a = act + 256 * i + 32 * j;
                BlockWeights(b, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
                var scPairs = Avx2.ConvertToVector256Int16((sbyte*)b);
                dot += BlockDot(Mul(w0, a) + Mul(w1, a + 4), Mul(w2, a + 8) + Mul(w3, a + 12),
                    Mul(w4, a + 16) + Mul(w5, a + 20), Mul(w6, a + 24) + Mul(w7, a + 28), scPairs);
                off += OffsetShare(scPairs, HalfSums(hs, 8 * i + j));
            }
            acc = Finish(acc, dot - Avx2.ShiftLeftLogical(off, 5), RowGroups.Halves(blk), da[8 * i]);
        }
        Vector256.Store(acc, y);
    }

    private static void Dot4(byte* group, byte* act, long actStride, float* y, long yStride, int n, bool prefetch)
    {
        byte* a1 = act + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
        float* da0 = Q8Act.Scales(act, n), da1 = Q8Act.Scales(a1, n), da2 = Q8Act.Scales(a2, n), da3 = Q8Act.Scales(a3, n);
        int* hs0 = Q8Act.HalfSums(act, n), hs1 = Q8Act.HalfSums(a1, n), hs2 = Q8Act.HalfSums(a2, n), hs3 = Q8Act.HalfSums(a3, n);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = group + (long)i * SuperBytes;
            if (prefetch) StreamPrefetch.Ahead(blk, SuperBytes);
            Vector256<int> dot0 = default, dot1 = default, dot2 = default, dot3 = default;
            for (int j = 0; j < 8; j++)
            {
                byte* b = blk + 16 + j * BlockBytes;
                int o = 256 * i + 32 * j, k = 8 * i + j;
                // the first 16 elements for four tokens, then the last 16: four weight vectors and four int32 partial
                // sums live at a time (all eight weight vectors across four tokens spilled ~50 vectors per block)
                var scPairs = Avx2.ConvertToVector256Int16((sbyte*)b);
                var (sc0, sc1) = Scales(scPairs);
                FirstHalf(Vector256.Load(b + 16), Vector256.Load(b + 48), Vector256.Load(b + 80), Vector256.Load(b + 112), out var w0, out var w1, out var w2, out var w3);
                var f0 = HalfDot(w0, w1, w2, w3, act + o, sc0);
                var f1 = HalfDot(w0, w1, w2, w3, a1 + o, sc0);
                var f2 = HalfDot(w0, w1, w2, w3, a2 + o, sc0);
                var f3 = HalfDot(w0, w1, w2, w3, a3 + o, sc0);
                SecondHalf(b, Vector256.Load(b + 16), Vector256.Load(b + 48), Vector256.Load(b + 80), Vector256.Load(b + 112), out var w4, out var w5, out var w6, out var w7);
                dot0 += Corrected(f0 + HalfDot(w4, w5, w6, w7, act + o + 16, sc1), scPairs, HalfSums(hs0, k));
                dot1 += Corrected(f1 + HalfDot(w4, w5, w6, w7, a1 + o + 16, sc1), scPairs, HalfSums(hs1, k));
                dot2 += Corrected(f2 + HalfDot(w4, w5, w6, w7, a2 + o + 16, sc1), scPairs, HalfSums(hs2, k));
                dot3 += Corrected(f3 + HalfDot(w4, w5, w6, w7, a3 + o + 16, sc1), scPairs, HalfSums(hs3, k));
            }
            var d = RowGroups.Halves(blk);
            acc0 = Finish(acc0, dot0, d, da0[8 * i]);
            acc1 = Finish(acc1, dot1, d, da1[8 * i]);
            acc2 = Finish(acc2, dot2, d, da2[8 * i]);
            acc3 = Finish(acc3, dot3, d, da3[8 * i]);
        }
        Vector256.Store(acc0, y);
        Vector256.Store(acc1, y + yStride);
        Vector256.Store(acc2, y + 2 * yStride);
        Vector256.Store(acc3, y + 3 * yStride);
    }
}
