using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// Integer-domain row · activation dot products: the weight row stays in its block format, the activation row is a
/// <see cref="Q8Act"/> row, and each 32-element block is multiplied with AVX2 <c>vpmaddubsw</c> + <c>vpmaddwd</c>
/// (Avx2.MultiplyAddAdjacent), converted to float once per block and scaled by d_w·d_a. Kernels exist for Q4_0, Q8_0,
/// Q4_K and Q6_K; <see cref="Get"/> returns null for other types or when AVX2 is absent (chosen once, at model load),
/// and the caller keeps the float-domain <see cref="Dot"/> path. <see cref="Reference"/> is the scalar definition.
/// </summary>
public static unsafe class QDot
{
    /// <summary>Single-row kernel: (weight row, Q8 activation row, n) → Σ w[i]·a[i].</summary>
    public static delegate*<byte*, byte*, int, float> Get(GgmlType type)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported) return null;
        return type switch
        {
            GgmlType.Q4_0 => &Q4_0,
            GgmlType.Q8_0 => &Q8_0,
            GgmlType.Q4_K => &Q4_K,
            GgmlType.Q6_K => &Q6_K,
            _ => null,
        };
    }

    /// <summary>
    /// Multi-token kernel: y[t·yStride] = row · act[t] for t &lt; nTok (act rows <paramref name="actStride"/> bytes apart).
    /// Each weight block is decoded once for up to 4 tokens; every per-token result is bit-identical to the single kernel.
    /// </summary>
    public static delegate*<byte*, byte*, long, int, float*, long, int, void> GetMulti(GgmlType type)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported) return null;
        return type switch
        {
            GgmlType.Q4_0 => &Q4_0Multi,
            GgmlType.Q8_0 => &Q8_0Multi,
            GgmlType.Q4_K => &Loop<Q4KKernel>,
            GgmlType.Q6_K => &Loop<Q6KKernel>,
            _ => null,
        };
    }

    /// <summary>Scalar reference: decode the weight row, dequantize the activation blocks (q·d), accumulate in float64.</summary>
    public static double Reference(GgmlType type, byte* row, byte* act, int n)
    {
        var w = new float[n];
        fixed (float* t = w) Quants.Dequantize(type, row, t, n);
        float* d = Q8Act.Scales(act, n);
        double s = 0;
        for (int i = 0; i < n; i++) s += (double)w[i] * (((sbyte*)act)[i] * d[i / 32]);
        return s;
    }


    /// <summary>Σ over 8 int32 lanes of Σ u·a (u unsigned ≤ 127·... see callers), as float lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> DotU(Vector256<byte> u, Vector256<sbyte> a) =>
        Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, a), Vector256<short>.One));

    /// <summary>Signed × signed via the sign trick: |w| · (a with w's sign).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> DotS(Vector256<sbyte> w, Vector256<sbyte> a) => DotU(Avx2.Abs(w), Avx2.Sign(a, w));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float H(byte* p) => Quants.HalfToFloat(Unsafe.ReadUnaligned<ushort>(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles4_0(byte* qs)
    {
        var v = Vector128.Load(qs);
        var m = Vector128.Create((byte)0x0F);
        return Vector256.Create(v & m, Vector128.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & m);
    }

    // ---------------------------------------------------------------- Q4_0: Σ(u−8)·a = Σu·a − 8·Σa

    private static float Q4_0(byte* row, byte* act, int n)
    {
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        var acc = Vector256<float>.Zero;
        float corr = 0;
        for (int b = 0; b < n / 32; b++)
        {
            byte* blk = row + b * 18;
            float dw = H(blk);
            acc = Fma.MultiplyAdd(DotU(Nibbles4_0(blk + 2), Vector256.Load((sbyte*)act + b * 32)), Vector256.Create(dw * da[b]), acc);
            corr += dw * sa[b];
        }
        return Vector256.Sum(acc) - 8 * corr;
    }

    private static void Q4_0Multi(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        int t = 0;
        for (; t + 4 <= nTok; t += 4)
        {
            byte* a0 = act + t * actStride, a1 = a0 + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
            float* d0 = Q8Act.Scales(a0, n), d1 = Q8Act.Scales(a1, n), d2 = Q8Act.Scales(a2, n), d3 = Q8Act.Scales(a3, n);
            float* s0 = Q8Act.Sums(a0, n), s1 = Q8Act.Sums(a1, n), s2 = Q8Act.Sums(a2, n), s3 = Q8Act.Sums(a3, n);
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
            float k0 = 0, k1 = 0, k2 = 0, k3 = 0;
            for (int b = 0; b < n / 32; b++)
            {
                byte* blk = row + b * 18;
                float dw = H(blk);
                var u = Nibbles4_0(blk + 2);
                int o = b * 32;
                c0 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a0 + o)), Vector256.Create(dw * d0[b]), c0);
                c1 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a1 + o)), Vector256.Create(dw * d1[b]), c1);
                c2 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a2 + o)), Vector256.Create(dw * d2[b]), c2);
                c3 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a3 + o)), Vector256.Create(dw * d3[b]), c3);
                k0 += dw * s0[b];
                k1 += dw * s1[b];
                k2 += dw * s2[b];
                k3 += dw * s3[b];
            }
            y[t * yStride] = Vector256.Sum(c0) - 8 * k0;
            y[(t + 1) * yStride] = Vector256.Sum(c1) - 8 * k1;
            y[(t + 2) * yStride] = Vector256.Sum(c2) - 8 * k2;
            y[(t + 3) * yStride] = Vector256.Sum(c3) - 8 * k3;
        }
        for (; t < nTok; t++) y[t * yStride] = Q4_0(row, act + t * actStride, n);
    }

    // ---------------------------------------------------------------- Q8_0

    private static float Q8_0(byte* row, byte* act, int n)
    {
        float* da = Q8Act.Scales(act, n);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++)
        {
            byte* blk = row + b * 34;
            acc = Fma.MultiplyAdd(DotS(Vector256.Load((sbyte*)blk + 2), Vector256.Load((sbyte*)act + b * 32)), Vector256.Create(H(blk) * da[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    private static void Q8_0Multi(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        int t = 0;
        for (; t + 4 <= nTok; t += 4)
        {
            byte* a0 = act + t * actStride, a1 = a0 + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
            float* d0 = Q8Act.Scales(a0, n), d1 = Q8Act.Scales(a1, n), d2 = Q8Act.Scales(a2, n), d3 = Q8Act.Scales(a3, n);
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
            for (int b = 0; b < n / 32; b++)
            {
                byte* blk = row + b * 34;
                float dw = H(blk);
                var w = Vector256.Load((sbyte*)blk + 2);
                var u = Avx2.Abs(w);
                int o = b * 32;
                c0 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a0 + o), w)), Vector256.Create(dw * d0[b]), c0);
                c1 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a1 + o), w)), Vector256.Create(dw * d1[b]), c1);
                c2 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a2 + o), w)), Vector256.Create(dw * d2[b]), c2);
                c3 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a3 + o), w)), Vector256.Create(dw * d3[b]), c3);
            }
            y[t * yStride] = Vector256.Sum(c0);
            y[(t + 1) * yStride] = Vector256.Sum(c1);
            y[(t + 2) * yStride] = Vector256.Sum(c2);
            y[(t + 3) * yStride] = Vector256.Sum(c3);
        }
        for (; t < nTok; t++) y[t * yStride] = Q8_0(row, act + t * actStride, n);
    }

    // ---------------------------------------------------------------- Q4_K: Σ_j d·sc_j·Σu·a − dmin·m_j·Σa

    private static float Q4_K(byte* row, byte* act, int n)
    {
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        var acc = Vector256<float>.Zero;
        var low = Vector256.Create((byte)0x0F);
        float mins = 0;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = row + i * 144;
            float d = H(blk), dmin = H(blk + 2);
            byte* scales = blk + 4;
            byte* qs = blk + 16;
            float m = 0;
            for (int p = 0; p < 4; p++)
            {
                Quants.ScaleMinK4(2 * p, scales, out int sc1, out int m1);
                Quants.ScaleMinK4(2 * p + 1, scales, out int sc2, out int m2);
                int j = 8 * i + 2 * p;
                var v = Vector256.Load(qs + 32 * p);
                sbyte* a = (sbyte*)act + 32 * j;
                acc = Fma.MultiplyAdd(DotU(v & low, Vector256.Load(a)), Vector256.Create(d * sc1 * da[j]), acc);
                acc = Fma.MultiplyAdd(DotU(Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low, Vector256.Load(a + 32)),
                    Vector256.Create(d * sc2 * da[j + 1]), acc);
                m += m1 * sa[j] + m2 * sa[j + 1];
            }
            mins += dmin * m;
        }
        return Vector256.Sum(acc) - mins;
    }

    // ---------------------------------------------------------------- Q6_K: Σ d·sc·(q−32)·a over sub-blocks of 16

    private static float Q6_K(byte* row, byte* act, int n)
    {
        float* da = Q8Act.Scales(act, n);
        var acc = Vector256<float>.Zero;
        var low = Vector256.Create((byte)0x0F);
        var b45 = Vector256.Create((byte)0x30);
        var m32 = Vector256.Create((sbyte)32);
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = row + i * 210;
            float d = H(blk + 208);
            for (int half = 0; half < 2; half++)
            {
                byte* ql = blk + 64 * half;
                byte* qh = blk + 128 + 32 * half;
                sbyte* sc = (sbyte*)(blk + 192) + 8 * half;
                int j = 8 * i + 4 * half;
                sbyte* a = (sbyte*)act + 32 * j;
                Vector256<byte> A = Vector256.Load(ql), B = Vector256.Load(ql + 32), Hb = Vector256.Load(qh);
                var q1 = (A & low) | (Vector256.ShiftLeft(Hb.AsUInt16(), 4).AsByte() & b45);
                var q2 = (B & low) | (Vector256.ShiftLeft(Hb.AsUInt16(), 2).AsByte() & b45);
                var q3 = (Vector256.ShiftRightLogical(A.AsUInt16(), 4).AsByte() & low) | (Hb & b45);
                var q4 = (Vector256.ShiftRightLogical(B.AsUInt16(), 4).AsByte() & low) | (Vector256.ShiftRightLogical(Hb.AsUInt16(), 2).AsByte() & b45);
                acc = Q6Block(q1, a, sc[0], sc[1], d * da[j], m32, acc);
                acc = Q6Block(q2, a + 32, sc[2], sc[3], d * da[j + 1], m32, acc);
                acc = Q6Block(q3, a + 64, sc[4], sc[5], d * da[j + 2], m32, acc);
                acc = Q6Block(q4, a + 96, sc[6], sc[7], d * da[j + 3], m32, acc);
            }
        }
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q6Block(Vector256<byte> q, sbyte* a, sbyte scLo, sbyte scHi, float scale, Vector256<sbyte> m32, Vector256<float> acc)
    {
        var w = q.AsSByte() - m32;                                                          // −32..31
        var p = Avx2.MultiplyAddAdjacent(Avx2.Abs(w), Avx2.Sign(Vector256.Load(a), w));     // 16 × int16, lanes 0-7 = first 16
        var sc = Vector256.Create(Vector128.Create((short)scLo), Vector128.Create((short)scHi));
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(p, sc)), Vector256.Create(scale), acc);
    }

    // ---------------------------------------------------------------- token loop for the K formats (row stays in L1)

    private interface IKernel
    {
        static abstract float Dot(byte* row, byte* act, int n);
    }

    private struct Q4KKernel : IKernel
    {
        public static float Dot(byte* row, byte* act, int n) => Q4_K(row, act, n);
    }

    private struct Q6KKernel : IKernel
    {
        public static float Dot(byte* row, byte* act, int n) => Q6_K(row, act, n);
    }

    private static void Loop<T>(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n) where T : struct, IKernel
    {
        for (int t = 0; t < nTok; t++) y[t * yStride] = T.Dot(row, act + t * actStride, n);
    }
}
