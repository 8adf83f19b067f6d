using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TtEngine.Kernels;

/// <summary>
/// Activations quantized once per row for the integer-domain dot products (<see cref="QDot"/>): blocks of 32 with a float
/// scale d = max|x|/127 and q = round-to-even(x·127/max|x|). Row layout (64-byte aligned stride <see cref="RowBytes"/>):
/// <c>[q: n sbytes][d: n/32 floats][s: n/32 floats][h: n/32 ints][p: n/64 ints][k: n/32 floats][o: n/32 floats]</c>
/// where s = d·Σq (the block's dequantized sum, used for weight offsets and mins), h holds the integer sums of the
/// block's halves, Σq[0..15] in its low 16 bits and Σq[16..31] in its high 16 bits (the Q6_K kernels' offset correction,
/// computed here once per row instead of once per group of 8 weight rows), p the integer sums of blocks 2k and 2k+1 the
/// same way (the Q4_K mins), and k = d·2⁴⁸, o = −8·s·2⁴⁸ the scale and the Q4_0 offset term for kernels that take
/// weight scales as raw half bits (<see cref="RowGroups.HalfBits"/>: the value·2⁻¹¹²; they multiply by 2⁶⁴ at the end).
/// <para>
/// <see cref="QuantizeSuperBlocks"/> gives every 256 elements one scale (llama.cpp's Q8_K), stored in each of its 8
/// blocks' d, so the row is still valid for every kernel; the interleaved K-quant kernels need it, since with one
/// activation scale per super-block their products sum in int32 and are converted once per 256 elements.
/// </para>
/// </summary>
public static unsafe class Q8Act
{
    /// <summary>Bytes of one quantized row of <paramref name="n"/> elements (n a multiple of 32), rounded up to 64.</summary>
    public static int RowBytes(int n) => (n + 20 * (n / 32) + 4 * (n / 64) + 63) & ~63;

    /// <summary>2⁴⁸: the factor in <see cref="BitScales"/> and <see cref="BitOffsets"/>.</summary>
    public const float BitScale = 281474976710656f; // activations from ~1e-12 to ~1e21 keep every product normal and finite

    /// <summary>Elements per scale of <see cref="QuantizeSuperBlocks"/>.</summary>
    public const int SuperBlock = 256;

    /// <summary>Scales of a quantized row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Scales(byte* row, int n) => (float*)(row + n);

    /// <summary>Dequantized block sums of a quantized row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Sums(byte* row, int n) => (float*)(row + n) + n / 32;

    /// <summary>Half-block integer sums of a quantized row (two int16 per block, see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int* HalfSums(byte* row, int n) => (int*)(Sums(row, n) + n / 32);

    /// <summary>Integer sums of blocks 2k and 2k+1 of a quantized row (two int16 per pair, see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int* PairSums(byte* row, int n) => HalfSums(row, n) + n / 32;

    /// <summary>d·2⁴⁸ per block (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* BitScales(byte* row, int n) => (float*)(PairSums(row, n) + n / 64);

    /// <summary>−8·s·2⁴⁸ per block: the Q4_0 offset term in the units of <see cref="BitScales"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* BitOffsets(byte* row, int n) => BitScales(row, n) + n / 32;

    private static int PackHalves(int lo, int hi) => (lo & 0xFFFF) | (hi << 16);

    /// <summary>Quantizes x[n] into <paramref name="dst"/> with one scale per 32 elements (AVX2 when present, else the scalar reference; both give the same bytes).</summary>
    public static void Quantize(float* x, byte* dst, int n) => Quantize(x, dst, n, superBlocks: false);

    /// <summary>Quantizes x[n] (n a multiple of 256) with one scale per 256 elements (see the class remarks).</summary>
    public static void QuantizeSuperBlocks(float* x, byte* dst, int n) => Quantize(x, dst, n, superBlocks: true);

    /// <summary>One scale per 32 elements, or per 256 with <paramref name="superBlocks"/>.</summary>
    public static void Quantize(float* x, byte* dst, int n, bool superBlocks)
    {
        if (Avx2.IsSupported) QuantizeAvx2(x, dst, n, superBlocks ? SuperBlock / 32 : 1);
        else QuantizeReference(x, dst, n, superBlocks);
    }

    /// <summary>The scalar definition.</summary>
    public static void QuantizeReference(float* x, byte* dst, int n, bool superBlocks = false)
    {
        Debug.Assert(n % (superBlocks ? SuperBlock : 32) == 0);
        int per = superBlocks ? SuperBlock / 32 : 1; // blocks per scale
        float* d = Scales(dst, n), s = Sums(dst, n);
        int* h = HalfSums(dst, n);
        float amax = 0;
        for (int b = 0; b < n / 32; b++)
        {
            if (b % per == 0)
            {
                amax = 0;
                for (int j = 0; j < 32 * per; j++) amax = MathF.Max(amax, MathF.Abs(x[b * 32 + j]));
            }
            float* xb = x + b * 32;
            float id = amax != 0 ? 127f / amax : 0f;
            int lo = 0, hi = 0;
            for (int j = 0; j < 32; j++)
            {
                int q = (int)MathF.Round(xb[j] * id, MidpointRounding.ToEven);
                ((sbyte*)dst)[b * 32 + j] = (sbyte)q;
                if (j < 16) lo += q;
                else hi += q;
            }
            d[b] = amax / 127f;
            s[b] = d[b] * (lo + hi);
            h[b] = PackHalves(lo, hi);
        }
        FillDerived(dst, n);
    }

    /// <summary>What follows from d, s and h: the pair sums p and the scaled k and o.</summary>
    private static void FillDerived(byte* dst, int n)
    {
        int* h = HalfSums(dst, n), p = PairSums(dst, n);
        for (int k = 0; k < n / 64; k++)
            p[k] = PackHalves(Whole(h[2 * k]), Whole(h[2 * k + 1]));
        float* d = Scales(dst, n), s = Sums(dst, n), bk = BitScales(dst, n), bo = BitOffsets(dst, n);
        for (int b = 0; b < n / 32; b++)
        {
            bk[b] = d[b] * BitScale;
            bo[b] = -8 * s[b] * BitScale;
        }

        static int Whole(int halves) => (short)halves + (halves >> 16);
    }

    private static void QuantizeAvx2(float* x, byte* dst, int n, int per)
    {
        float* d = Scales(dst, n), s = Sums(dst, n);
        int* h = HalfSums(dst, n);
        var signMask = Vector256.Create(0x7FFFFFFF).AsSingle();
        var perm = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        float amax = 0;
        for (int b = 0; b < n / 32; b++)
        {
            if (b % per == 0)
            {
                var m = Vector256<float>.Zero;
                for (int j = 0; j < 32 * per; j += 8) m = Avx.Max(m, Avx.LoadVector256(x + b * 32 + j) & signMask);
                var m4 = Sse.Max(m.GetLower(), m.GetUpper());
                m4 = Sse.Max(m4, Sse.Shuffle(m4, m4, 0b01_00_11_10));
                m4 = Sse.Max(m4, Sse.Shuffle(m4, m4, 0b10_11_00_01));
                amax = m4.ToScalar();
            }
            float* xb = x + b * 32;
            Vector256<float> v0 = Avx.LoadVector256(xb), v1 = Avx.LoadVector256(xb + 8), v2 = Avx.LoadVector256(xb + 16), v3 = Avx.LoadVector256(xb + 24);
            float id = amax != 0 ? 127f / amax : 0f;
            var vid = Vector256.Create(id);
            Vector256<int> i0 = Avx.ConvertToVector256Int32(v0 * vid), i1 = Avx.ConvertToVector256Int32(v1 * vid);
            Vector256<int> i2 = Avx.ConvertToVector256Int32(v2 * vid), i3 = Avx.ConvertToVector256Int32(v3 * vid);
            var p01 = Avx2.PackSignedSaturate(i0, i1);
            var p23 = Avx2.PackSignedSaturate(i2, i3);
            var q = Avx2.PackSignedSaturate(p01, p23);
            Avx.Store((sbyte*)dst + b * 32, Avx2.PermuteVar8x32(q.AsInt32(), perm).AsSByte());
            int lo = Vector256.Sum(i0 + i1), hi = Vector256.Sum(i2 + i3);
            d[b] = amax / 127f;
            s[b] = d[b] * (lo + hi);
            h[b] = PackHalves(lo, hi);
        }
        FillDerived(dst, n);
    }
}
