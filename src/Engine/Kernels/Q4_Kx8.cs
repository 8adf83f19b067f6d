using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// Q4_K with 8 rows interleaved ("Q4_Kx8"), the <see cref="Q4_0x8"/> scheme for K-quant super-blocks.
/// <para>
/// Layout, per group of 8 rows, per 256-element super-block (1184 bytes; the plain rows take 1152):
/// <c>[d: 8 halves][dmin: 8 halves][sc: 8 sub-blocks × 8 rows, bytes][m: 4 pairs × 8 rows × 2 bytes][4 chunks × 8 × 32 quant bytes]</c>.
/// The 6-bit scales and mins are unpacked once, at load; byte 16p+2r+e of m is row r's min of sub-block 2p+e. Chunk p
/// covers sub-blocks 2p (low nibbles) and 2p+1 (high nibbles); its 32-byte piece c holds row r's quant bytes 32p+4c..+3
/// at 4r..4r+3, so one load, mask and shift give 4 weights of each of 8 rows for both sub-blocks, and one
/// <c>vpmaddubsw</c> against a 4-byte activation broadcast serves 8 rows. A sub-block's 16 products per int16 lane stay
/// ≤ 30480.
/// </para>
/// <para>
/// The activations have one scale da per super-block (<see cref="Q8Act.QuantizeSuperBlocks"/>), so per row
/// d·da·Σ_j sc_j·Σu·q − dmin·da·Σ_j m_j·S_j is two int32 sums (≤ 31 M and ≤ 2.1 M) converted once per 256 elements:
/// <c>vpmaddwd</c> applies the sub-block scales and, against the activations' pair sums S, the mins.
/// The one- and four-token kernels are bit-identical.
/// </para>
/// </summary>
public static unsafe class Q4_Kx8
{
    private const int SuperBytes = 1184;
    private const int QuantOffset = 160;

    /// <summary>Bytes of one packed group of 8 rows.</summary>
    public static long GroupBytes(int cols) => (long)(cols / 256) * SuperBytes;

    /// <summary>Interleaves groups [g0, g1) of a plain Q4_K matrix; false if a d or dmin is Inf or NaN (see <see cref="Q4_0x8.Pack"/>).</summary>
    public static bool Pack(byte* src, long rowBytes, int cols, int g0, int g1, byte* dst)
    {
        int ns = cols / 256;
        long gBytes = GroupBytes(cols);
        bool finite = true;
        for (int g = g0; g < g1; g++)
        {
            byte* rows0 = src + (long)g * RowGroups.Rows * rowBytes;
            for (int i = 0; i < ns; i++)
            {
                byte* o = dst + g * gBytes + (long)i * SuperBytes;
                for (int r = 0; r < RowGroups.Rows; r++)
                {
                    byte* blk = rows0 + r * rowBytes + i * 144;
                    ushort d = Unsafe.ReadUnaligned<ushort>(blk), dmin = Unsafe.ReadUnaligned<ushort>(blk + 2);
                    finite &= (d & 0x7C00) != 0x7C00 && (dmin & 0x7C00) != 0x7C00;
                    Unsafe.WriteUnaligned(o + 2 * r, d);
                    Unsafe.WriteUnaligned(o + 16 + 2 * r, dmin);
                    for (int j = 0; j < 8; j++)
                    {
                        Quants.ScaleMinK4(j, blk + 4, out int sc, out int m);
                        o[32 + 8 * j + r] = (byte)sc;
                        o[96 + 16 * (j >> 1) + 2 * r + (j & 1)] = (byte)m;
                    }
                    for (int p = 0; p < 4; p++)
                        for (int c = 0; c < 8; c++)
                            Unsafe.WriteUnaligned(o + QuantOffset + 256 * p + 32 * c + 4 * r, Unsafe.ReadUnaligned<uint>(blk + 16 + 32 * p + 4 * c));
                }
            }
        }
        return finite;
    }

    /// <summary>Sub-block scales of 8 rows (8 bytes at <paramref name="sc"/>) as int16, each in both lanes of its row's int32 lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> SubScales(byte* sc) =>
        Avx2.Shuffle(Vector256.Create(*(long*)sc).AsByte(),
            Vector256.Create((byte)0, 0x80, 0, 0x80, 1, 0x80, 1, 0x80, 2, 0x80, 2, 0x80, 3, 0x80, 3, 0x80,
                4, 0x80, 4, 0x80, 5, 0x80, 5, 0x80, 6, 0x80, 6, 0x80, 7, 0x80, 7, 0x80)).AsInt16();

    /// <summary>Σ sc·u·q of the chunk's two sub-blocks (int16 sums of 8 rows) in int32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Scaled(Vector256<short> lo, Vector256<short> hi, byte* blk, int p) =>
        Avx2.MultiplyAddAdjacent(lo, SubScales(blk + 32 + 16 * p)) + Avx2.MultiplyAddAdjacent(hi, SubScales(blk + 40 + 16 * p));

    /// <summary>Σ_j m_j·S_j over the sub-block pair p (the activations' pair sums at <paramref name="pairs"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Mins(byte* blk, int* pairs, int p) =>
        Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(blk + 96 + 16 * p), Vector256.Create(pairs[p]).AsInt16());

    /// <summary>acc + d·da·Σ sc·u·q − dmin·da·Σ m·S for one super-block of 8 rows (the same operations in both kernels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Finish(Vector256<float> acc, Vector256<int> dot, byte* blk, int* pairs, float da)
    {
        var mins = (Mins(blk, pairs, 0) + Mins(blk, pairs, 1)) + (Mins(blk, pairs, 2) + Mins(blk, pairs, 3));
        acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), RowGroups.Halves(blk) * Vector256.Create(da), acc);
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(mins), RowGroups.Halves(blk + 16) * Vector256.Create(-da), acc);
    }

    /// <summary>
    /// y[t·yStride + 8·g + r] = row r of group g · act[t] for r &lt; 8, g &lt; groups and t &lt; nTok: four tokens per pass
    /// over a group; a single token streams two groups at a time (<see cref="Dot1Pair"/>).
    /// </summary>
    public static void Dot(byte* group, int groups, byte* act, long actStride, int nTok, float* y, long yStride, int n)
        => RowGroups.ByFoursOrSideBySide(&Dot4, &Dot1, &Dot1Pair, null, group, groups, GroupBytes(n), act, actStride, nTok, y, yStride, n);

    /// <summary>
    /// <see cref="Dot1"/> for two adjacent groups (rows 0-7 to y[0..7], rows 8-15 to y[8..15]), bit-identical to two
    /// <see cref="Dot1"/> calls: each activation broadcast serves 16 rows, and two weight streams are in flight.
    /// </summary>
    private static void Dot1Pair(byte* g0, long groupBytes, byte* act, float* y, int n)
    {
        float* da = Q8Act.Scales(act, n);
        int* ps = Q8Act.PairSums(act, n);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        var prefetch = new StreamPrefetch.SideBySide(groupBytes, 2);
        for (int i = 0; i < n / 256; i++)
        {
            byte* b0 = g0 + (long)i * SuperBytes, b1 = b0 + groupBytes;
            prefetch.At((long)i * SuperBytes);
            prefetch.Ahead(b0, QuantOffset);
            prefetch.Ahead(b1, QuantOffset);
            Vector256<int> dot0 = Vector256<int>.Zero, dot1 = Vector256<int>.Zero;
            for (int p = 0; p < 4; p++)
            {
                byte* q0 = b0 + QuantOffset + 256 * p, q1 = b1 + QuantOffset + 256 * p;
                prefetch.At((long)i * SuperBytes + QuantOffset + 256 * p);
                prefetch.Ahead(q0, 256);
                prefetch.Ahead(q1, 256);
                byte* a = act + 256 * i + 64 * p;
                // running int16 sums (exact in any order): four live vectors instead of 32 chunk results
                var (ul, uh, vl, vh) = ChunkPair(default, default, default, default, q0, q1, a, 0);
                (ul, uh, vl, vh) = ChunkPair(ul, uh, vl, vh, q0, q1, a, 1);
                (ul, uh, vl, vh) = ChunkPair(ul, uh, vl, vh, q0, q1, a, 2);
                (ul, uh, vl, vh) = ChunkPair(ul, uh, vl, vh, q0, q1, a, 3);
                (ul, uh, vl, vh) = ChunkPair(ul, uh, vl, vh, q0, q1, a, 4);
                (ul, uh, vl, vh) = ChunkPair(ul, uh, vl, vh, q0, q1, a, 5);
                (ul, uh, vl, vh) = ChunkPair(ul, uh, vl, vh, q0, q1, a, 6);
                (ul, uh, vl, vh) = ChunkPair(ul, uh, vl, vh, q0, q1, a, 7);
                dot0 += Scaled(ul, uh, b0, p);
                dot1 += Scaled(vl, vh, b1, p);
            }
            acc0 = Finish(acc0, dot0, b0, ps + 4 * i, da[8 * i]);
            acc1 = Finish(acc1, dot1, b1, ps + 4 * i, da[8 * i]);
        }
        Vector256.Store(acc0, y);
        Vector256.Store(acc1, y + RowGroups.Rows);
    }

    /// <summary>The running sums (low, high sub-block) of two groups plus <see cref="Chunk"/> c of each, the two activation broadcasts shared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short>, Vector256<short>, Vector256<short>, Vector256<short>) ChunkPair(Vector256<short> ul, Vector256<short> uh,
        Vector256<short> vl, Vector256<short> vh, byte* q0, byte* q1, byte* a, int c)
    {
        var lo = Vector256.Create(*(int*)(a + 4 * c)).AsSByte();
        var hi = Vector256.Create(*(int*)(a + 32 + 4 * c)).AsSByte();
        var w = Vector256.Load(q0 + 32 * c);
        var v = Vector256.Load(q1 + 32 * c);
        return (ul + Avx2.MultiplyAddAdjacent(RowGroups.LowNibbles(w), lo), uh + Avx2.MultiplyAddAdjacent(RowGroups.HighNibbles(w), hi),
            vl + Avx2.MultiplyAddAdjacent(RowGroups.LowNibbles(v), lo), vh + Avx2.MultiplyAddAdjacent(RowGroups.HighNibbles(v), hi));
    }

    private static void Dot1(byte* group, byte* act, float* y, int n)
    {
        float* da = Q8Act.Scales(act, n);
        int* ps = Q8Act.PairSums(act, n);
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = group + (long)i * SuperBytes;
            StreamPrefetch.Ahead(blk, QuantOffset); // then per 256 quant bytes: unrolled, unlike a loop over 19 lines
            var dot = Vector256<int>.Zero;
            for (int p = 0; p < 4; p++)
            {
                byte* q = blk + QuantOffset + 256 * p;
                StreamPrefetch.Ahead(q, 256);
                byte* a = act + 256 * i + 64 * p;
                // written out: the AOT compiler does not unroll the 8-step loop, whose arithmetic was a fifth of the kernel
                var (l0, h0) = Chunk(q, a, 0);
                var (l1, h1) = Chunk(q, a, 1);
                var (l2, h2) = Chunk(q, a, 2);
                var (l3, h3) = Chunk(q, a, 3);
                var (l4, h4) = Chunk(q, a, 4);
                var (l5, h5) = Chunk(q, a, 5);
                var (l6, h6) = Chunk(q, a, 6);
                var (l7, h7) = Chunk(q, a, 7);
                var lo = ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7));
                var hi = ((h0 + h1) + (h2 + h3)) + ((h4 + h5) + (h6 + h7));
                dot += Scaled(lo, hi, blk, p);
            }
            acc = Finish(acc, dot, blk, ps + 4 * i, da[8 * i]);
        }
        Vector256.Store(acc, y);
    }

    /// <summary>Piece c of 32 quant bytes: (elements 4c..4c+3 of the low sub-block, of the high sub-block) of 8 rows times the activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short>, Vector256<short>) Chunk(byte* q, byte* a, int c)
    {
        var w = Vector256.Load(q + 32 * c);
        return (Avx2.MultiplyAddAdjacent(RowGroups.LowNibbles(w), Vector256.Create(*(int*)(a + 4 * c)).AsSByte()),
            Avx2.MultiplyAddAdjacent(RowGroups.HighNibbles(w), Vector256.Create(*(int*)(a + 32 + 4 * c)).AsSByte()));
    }

    /// <summary>
    /// Four tokens' int32 sums plus one sub-block of a chunk (its low nibbles, or with <paramref name="high"/> its high
    /// ones) times the sub-block's 8 row scales at <paramref name="scales"/>: the 8 pieces written out (no loop counter
    /// or address arithmetic; the AOT compiler does not unroll).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>) SubBlock4(Vector256<int> d0, Vector256<int> d1,
        Vector256<int> d2, Vector256<int> d3, byte* q, byte* a0, byte* a1, byte* a2, byte* a3, byte* scales, bool high)
    {
        var (s0, s1, s2, s3) = Nibbles4(default, default, default, default, q, a0, a1, a2, a3, 0, high);
        (s0, s1, s2, s3) = Nibbles4(s0, s1, s2, s3, q, a0, a1, a2, a3, 1, high);
        (s0, s1, s2, s3) = Nibbles4(s0, s1, s2, s3, q, a0, a1, a2, a3, 2, high);
        (s0, s1, s2, s3) = Nibbles4(s0, s1, s2, s3, q, a0, a1, a2, a3, 3, high);
        (s0, s1, s2, s3) = Nibbles4(s0, s1, s2, s3, q, a0, a1, a2, a3, 4, high);
        (s0, s1, s2, s3) = Nibbles4(s0, s1, s2, s3, q, a0, a1, a2, a3, 5, high);
        (s0, s1, s2, s3) = Nibbles4(s0, s1, s2, s3, q, a0, a1, a2, a3, 6, high);
        (s0, s1, s2, s3) = Nibbles4(s0, s1, s2, s3, q, a0, a1, a2, a3, 7, high);
        var sc = SubScales(scales);
        return (d0 + Avx2.MultiplyAddAdjacent(s0, sc), d1 + Avx2.MultiplyAddAdjacent(s1, sc),
            d2 + Avx2.MultiplyAddAdjacent(s2, sc), d3 + Avx2.MultiplyAddAdjacent(s3, sc));
    }

    /// <summary>
    /// Four tokens' running sums plus piece c of a chunk: its low nibbles (the chunk's first sub-block) against each
    /// token's activations at a, or with <paramref name="high"/> its high nibbles (the second sub-block) against a + 32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short>, Vector256<short>, Vector256<short>, Vector256<short>) Nibbles4(Vector256<short> s0, Vector256<short> s1,
        Vector256<short> s2, Vector256<short> s3, byte* q, byte* a0, byte* a1, byte* a2, byte* a3, int c, bool high)
    {
        var w = Vector256.Load(q + 32 * c);
        var u = high ? RowGroups.HighNibbles(w) : RowGroups.LowNibbles(w);
        int k = 4 * c + (high ? 32 : 0);
        return (s0 + Avx2.MultiplyAddAdjacent(u, Vector256.Create(*(int*)(a0 + k)).AsSByte()),
            s1 + Avx2.MultiplyAddAdjacent(u, Vector256.Create(*(int*)(a1 + k)).AsSByte()),
            s2 + Avx2.MultiplyAddAdjacent(u, Vector256.Create(*(int*)(a2 + k)).AsSByte()),
            s3 + Avx2.MultiplyAddAdjacent(u, Vector256.Create(*(int*)(a3 + k)).AsSByte()));
    }

    private static void Dot4(byte* group, byte* act, long actStride, float* y, long yStride, int n, bool prefetch)
    {
        byte* a1 = act + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
        float* da0 = Q8Act.Scales(act, n), da1 = Q8Act.Scales(a1, n), da2 = Q8Act.Scales(a2, n), da3 = Q8Act.Scales(a3, n);
        int* ps0 = Q8Act.PairSums(act, n), ps1 = Q8Act.PairSums(a1, n), ps2 = Q8Act.PairSums(a2, n), ps3 = Q8Act.PairSums(a3, n);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = group + (long)i * SuperBytes;
            if (prefetch) StreamPrefetch.Ahead(blk, SuperBytes);
            Vector256<int> dot0 = default, dot1 = default, dot2 = default, dot3 = default;
            for (int p = 0; p < 4; p++)
            {
                byte* q = blk + QuantOffset + 256 * p;
                int o = 256 * i + 64 * p;
                byte* b0 = act + o, b1 = a1 + o, b2 = a2 + o, b3 = a3 + o;
                // the low sub-block for the four tokens, then the high one: four running int16 sums live instead of
                // eight, so nothing spills
                (dot0, dot1, dot2, dot3) = SubBlock4(dot0, dot1, dot2, dot3, q, b0, b1, b2, b3, blk + 32 + 16 * p, high: false);
                (dot0, dot1, dot2, dot3) = SubBlock4(dot0, dot1, dot2, dot3, q, b0, b1, b2, b3, blk + 40 + 16 * p, high: true);
            }
            acc0 = Finish(acc0, dot0, blk, ps0 + 4 * i, da0[8 * i]);
            acc1 = Finish(acc1, dot1, blk, ps1 + 4 * i, da1[8 * i]);
            acc2 = Finish(acc2, dot2, blk, ps2 + 4 * i, da2[8 * i]);
            acc3 = Finish(acc3, dot3, blk, ps3 + 4 * i, da3[8 * i]);
        }
        Vector256.Store(acc0, y);
        Vector256.Store(acc1, y + yStride);
        Vector256.Store(acc2, y + 2 * yStride);
        Vector256.Store(acc3, y + 3 * yStride);
    }
}
