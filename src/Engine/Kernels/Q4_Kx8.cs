using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// Q4_K with 8 rows interleaved ("Q4_Kx8"), the <see cref="Q4_0x8"/> scheme for K-quant super-blocks.
/// <para>
/// Layout, per group of 8 rows, per 256-element super-block (1184 bytes; the plain rows take 1152):
/// <c>[d: 8 halves][dmin: 8 halves][sc: 8 sub-blocks × 8 rows, bytes][m: 8 × 8 bytes][4 chunks × 8 × 32 quant bytes]</c>.
/// The 6-bit scales and mins are unpacked once, at load. Chunk p covers sub-blocks 2p (low nibbles) and 2p+1 (high
/// nibbles); its 32-byte piece c holds row r's quant bytes 32p+4c..+3 at 4r..4r+3, so one load, mask and shift give
/// 4 weights of each of 8 rows for both sub-blocks, and one <c>vpmaddubsw</c> against a 4-byte activation broadcast
/// serves 8 rows. A sub-block's 16 products per int16 lane stay ≤ 30480.
/// </para>
/// Per sub-block j and row: d·sc_j·da_j·Σu·q − dmin·m_j·sa_j. The one- and four-token kernels are bit-identical.
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
                        o[96 + 8 * j + r] = (byte)m;
                    }
                    for (int p = 0; p < 4; p++)
                        for (int c = 0; c < 8; c++)
                            Unsafe.WriteUnaligned(o + QuantOffset + 256 * p + 32 * c + 4 * r, Unsafe.ReadUnaligned<uint>(blk + 16 + 32 * p + 4 * c));
                }
            }
        }
        return finite;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Bytes8(byte* p) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(p));

    /// <summary>acc + dsc·da·Σu·q − dm·sa for one sub-block of 8 rows (the same operations in both kernels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Accumulate(Vector256<float> acc, Vector256<short> sums, Vector256<float> dsc, Vector256<float> dm, float da, float sa)
    {
        var dot = Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(sums, Vector256<short>.One));
        acc = Fma.MultiplyAdd(dot, dsc * Vector256.Create(da), acc);
        return Fma.MultiplyAdd(dm, Vector256.Create(-sa), acc);
    }

    /// <summary>y[t·yStride + r] = row r · act[t] for the 8 rows of <paramref name="group"/>, t &lt; nTok (four tokens per pass).</summary>
    public static void Dot(byte* group, int groups, byte* act, long actStride, int nTok, float* y, long yStride, int n)
        => RowGroups.ByFours(&Dot4, &Dot1, group, groups, GroupBytes(n), act, actStride, nTok, y, yStride, n);

    private static void Dot1(byte* group, byte* act, float* y, int n)
    {
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = group + (long)i * SuperBytes;
            StreamPrefetch.Ahead(blk, QuantOffset); // then per 256 quant bytes: unrolled, unlike a loop over 19 lines
            Vector256<float> d = RowGroups.Halves(blk), dmin = RowGroups.Halves(blk + 16);
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
                int j = 2 * p, b = 8 * i + j;
                acc = Accumulate(acc, lo, d * Bytes8(blk + 32 + 8 * j), dmin * Bytes8(blk + 96 + 8 * j), da[b], sa[b]);
                acc = Accumulate(acc, hi, d * Bytes8(blk + 40 + 8 * j), dmin * Bytes8(blk + 104 + 8 * j), da[b + 1], sa[b + 1]);
            }
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

    private static void Dot4(byte* group, byte* act, long actStride, float* y, long yStride, int n)
    {
        byte* a1 = act + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
        float* da0 = Q8Act.Scales(act, n), da1 = Q8Act.Scales(a1, n), da2 = Q8Act.Scales(a2, n), da3 = Q8Act.Scales(a3, n);
        float* sa0 = Q8Act.Sums(act, n), sa1 = Q8Act.Sums(a1, n), sa2 = Q8Act.Sums(a2, n), sa3 = Q8Act.Sums(a3, n);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = group + (long)i * SuperBytes;
            StreamPrefetch.Ahead(blk, SuperBytes);
            Vector256<float> d = RowGroups.Halves(blk), dmin = RowGroups.Halves(blk + 16);
            for (int p = 0; p < 4; p++)
            {
                byte* q = blk + QuantOffset + 256 * p;
                int o = 256 * i + 64 * p;
                Vector256<short> l0 = default, l1 = default, l2 = default, l3 = default, h0 = default, h1 = default, h2 = default, h3 = default;
                for (int c = 0; c < 8; c++)
                {
                    var w = Vector256.Load(q + 32 * c);
                    Vector256<byte> lo = RowGroups.LowNibbles(w), hi = RowGroups.HighNibbles(w);
                    int k = o + 4 * c;
                    l0 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(act + k)).AsSByte());
                    h0 += Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(act + k + 32)).AsSByte());
                    l1 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(a1 + k)).AsSByte());
                    h1 += Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(a1 + k + 32)).AsSByte());
                    l2 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(a2 + k)).AsSByte());
                    h2 += Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(a2 + k + 32)).AsSByte());
                    l3 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(a3 + k)).AsSByte());
                    h3 += Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(a3 + k + 32)).AsSByte());
                }
                int j = 2 * p, b = 8 * i + j;
                Vector256<float> dsc = d * Bytes8(blk + 32 + 8 * j), dm = dmin * Bytes8(blk + 96 + 8 * j);
                acc0 = Accumulate(acc0, l0, dsc, dm, da0[b], sa0[b]);
                acc1 = Accumulate(acc1, l1, dsc, dm, da1[b], sa1[b]);
                acc2 = Accumulate(acc2, l2, dsc, dm, da2[b], sa2[b]);
                acc3 = Accumulate(acc3, l3, dsc, dm, da3[b], sa3[b]);
                dsc = d * Bytes8(blk + 40 + 8 * j);
                dm = dmin * Bytes8(blk + 104 + 8 * j);
                acc0 = Accumulate(acc0, h0, dsc, dm, da0[b + 1], sa0[b + 1]);
                acc1 = Accumulate(acc1, h1, dsc, dm, da1[b + 1], sa1[b + 1]);
                acc2 = Accumulate(acc2, h2, dsc, dm, da2[b + 1], sa2[b + 1]);
                acc3 = Accumulate(acc3, h3, dsc, dm, da3[b + 1], sa3[b + 1]);
            }
        }
        Vector256.Store(acc0, y);
        Vector256.Store(acc1, y + yStride);
        Vector256.Store(acc2, y + 2 * yStride);
        Vector256.Store(acc3, y + 3 * yStride);
    }
}
