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
[System.Runtime.CompilerServices.SkipLocalsInit]
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
    /// Each weight block is decoded once for 2-4 tokens; per-token results equal the single kernel within float rounding.
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
    private static float H(float* ht, byte* p) => ht[Unsafe.ReadUnaligned<ushort>(p)];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles4_0(byte* qs)
    {
        var v = Vector128.Load(qs);
        var m = Vector128.Create((byte)0x0F);
        return Vector256.Create(v & m, Vector128.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & m);
    }

    // ---------------------------------------------------------------- Q4_0: Σ(u−8)·a = Σu·a − 8·Σa

    // Q4_0 kernels first gather the row's block scales dw[b] (≤ MaxBlocks), then per token form dw·da and the offset
    // term Σ dw·(da·Σa) eight blocks at a time, so the per-block, per-token work is load a, vpmaddubsw, vpmaddwd,
    // convert, broadcast scale, FMA. Even and odd blocks use separate accumulators (no FMA latency chain). One-token and
    // four-token paths do the same arithmetic per token; the decode kernel (Q4_0) sums in another order (within ~1e-6 relative).
    private const int MaxBlocks = 1024; // rows up to 32768 elements

    /// <summary>Decode (one token): scales read in the loop, offset summed as it goes; two accumulator chains.</summary>
    private static float Q4_0(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        Vector256<float> acc0 = default, acc1 = default;
        float corr0 = 0, corr1 = 0;
        int nb = n / 32, b = 0;
        for (; b + 2 <= nb; b += 2)
        {
            byte* blk = row + b * 18;
            float dw0 = H(ht, blk), dw1 = H(ht, blk + 18);
            acc0 = Fma.MultiplyAdd(DotU(Nibbles4_0(blk + 2), Vector256.Load((sbyte*)act + b * 32)), Vector256.Create(dw0 * da[b]), acc0);
            acc1 = Fma.MultiplyAdd(DotU(Nibbles4_0(blk + 20), Vector256.Load((sbyte*)act + b * 32 + 32)), Vector256.Create(dw1 * da[b + 1]), acc1);
            corr0 += dw0 * sa[b];
            corr1 += dw1 * sa[b + 1];
        }
        if (b < nb)
        {
            byte* blk = row + b * 18;
            float dw = H(ht, blk);
            acc0 = Fma.MultiplyAdd(DotU(Nibbles4_0(blk + 2), Vector256.Load((sbyte*)act + b * 32)), Vector256.Create(dw * da[b]), acc0);
            corr0 += dw * sa[b];
        }
        return Vector256.Sum(acc0 + acc1) - 8 * (corr0 + corr1);
    }

    private static void Q4_0Multi(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        float* ht = Quants.HalfTablePointer;
        int nb = n / 32;
        if (nb > MaxBlocks)
        {
            for (int t = 0; t < nTok; t++) y[t * yStride] = (float)Reference(GgmlType.Q4_0, row, act + t * actStride, n);
            return;
        }
        int nb8 = (nb + 7) & ~7;
        float* dw = stackalloc float[nb8];
        float* sc = stackalloc float[4 * nb8];
        for (int b = 0; b < nb; b++) dw[b] = H(ht, row + b * 18);
        for (int b = nb; b < nb8; b++) dw[b] = 0;
        int t0 = 0;
        for (; t0 < nTok; t0 += 4)
        {
            int nt = Math.Min(4, nTok - t0);
            float corr0 = 0, corr1 = 0, corr2 = 0, corr3 = 0;
            for (int t = 0; t < nt; t++)
            {
                byte* a = act + (t0 + t) * actStride;
                float corr = ScalesAndOffset(dw, Q8Act.Scales(a, n), Q8Act.Sums(a, n), sc + t * nb8, nb);
                if (t == 0) corr0 = corr; else if (t == 1) corr1 = corr; else if (t == 2) corr2 = corr; else corr3 = corr;
            }
            if (nt == 4)
            {
                byte* a0 = act + t0 * actStride, a1 = a0 + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
                Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
                int b = 0;
                for (; b + 2 <= nb; b += 2)
                {
                    var u = Nibbles4_0(row + b * 18 + 2);
                    var uo = Nibbles4_0(row + b * 18 + 20);
                    int o = b * 32;
                    e0 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a0 + o)), Vector256.Create(sc[b]), e0);
                    o0 = Fma.MultiplyAdd(DotU(uo, Vector256.Load((sbyte*)a0 + o + 32)), Vector256.Create(sc[b + 1]), o0);
                    e1 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a1 + o)), Vector256.Create(sc[nb8 + b]), e1);
                    o1 = Fma.MultiplyAdd(DotU(uo, Vector256.Load((sbyte*)a1 + o + 32)), Vector256.Create(sc[nb8 + b + 1]), o1);
                    e2 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a2 + o)), Vector256.Create(sc[2 * nb8 + b]), e2);
                    o2 = Fma.MultiplyAdd(DotU(uo, Vector256.Load((sbyte*)a2 + o + 32)), Vector256.Create(sc[2 * nb8 + b + 1]), o2);
                    e3 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a3 + o)), Vector256.Create(sc[3 * nb8 + b]), e3);
                    o3 = Fma.MultiplyAdd(DotU(uo, Vector256.Load((sbyte*)a3 + o + 32)), Vector256.Create(sc[3 * nb8 + b + 1]), o3);
                }
                if (b < nb)
                {
                    var u = Nibbles4_0(row + b * 18 + 2);
                    int o = b * 32;
                    e0 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a0 + o)), Vector256.Create(sc[b]), e0);
                    e1 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a1 + o)), Vector256.Create(sc[nb8 + b]), e1);
                    e2 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a2 + o)), Vector256.Create(sc[2 * nb8 + b]), e2);
                    e3 = Fma.MultiplyAdd(DotU(u, Vector256.Load((sbyte*)a3 + o)), Vector256.Create(sc[3 * nb8 + b]), e3);
                }
                y[t0 * yStride] = Vector256.Sum(e0 + o0) - 8 * corr0;
                y[(t0 + 1) * yStride] = Vector256.Sum(e1 + o1) - 8 * corr1;
                y[(t0 + 2) * yStride] = Vector256.Sum(e2 + o2) - 8 * corr2;
                y[(t0 + 3) * yStride] = Vector256.Sum(e3 + o3) - 8 * corr3;
            }
            else
            {
                for (int t = 0; t < nt; t++)
                {
                    byte* a = act + (t0 + t) * actStride;
                    float* s = sc + t * nb8;
                    Vector256<float> e = default, od = default;
                    int b = 0;
                    for (; b + 2 <= nb; b += 2)
                    {
                        e = Fma.MultiplyAdd(DotU(Nibbles4_0(row + b * 18 + 2), Vector256.Load((sbyte*)a + b * 32)), Vector256.Create(s[b]), e);
                        od = Fma.MultiplyAdd(DotU(Nibbles4_0(row + b * 18 + 20), Vector256.Load((sbyte*)a + b * 32 + 32)), Vector256.Create(s[b + 1]), od);
                    }
                    if (b < nb) e = Fma.MultiplyAdd(DotU(Nibbles4_0(row + b * 18 + 2), Vector256.Load((sbyte*)a + b * 32)), Vector256.Create(s[b]), e);
                    float corr = t == 0 ? corr0 : t == 1 ? corr1 : corr2;
                    y[(t0 + t) * yStride] = Vector256.Sum(e + od) - 8 * corr;
                }
            }
        }
    }

    /// <summary>sc[b] = dw[b]·da[b] for b &lt; nb (8 at a time; dw is zero-padded to a multiple of 8) and returns Σ dw·sa.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScalesAndOffset(float* dw, float* da, float* sa, float* sc, int nb)
    {
        var corr = Vector256<float>.Zero;
        int b = 0;
        for (; b + 8 <= nb; b += 8)
        {
            var w = Vector256.Load(dw + b);
            Vector256.Store(w * Vector256.Load(da + b), sc + b);
            corr = Fma.MultiplyAdd(w, Vector256.Load(sa + b), corr);
        }
        float c = Vector256.Sum(corr);
        for (; b < nb; b++)
        {
            sc[b] = dw[b] * da[b];
            c += dw[b] * sa[b];
        }
        return c;
    }

    // ---------------------------------------------------------------- Q8_0

    private static float Q8_0(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n);
        Vector256<float> acc0 = default, acc1 = default;
        int nb = n / 32, b = 0;
        for (; b + 2 <= nb; b += 2)
        {
            byte* blk = row + b * 34;
            acc0 = Fma.MultiplyAdd(DotS(Vector256.Load((sbyte*)blk + 2), Vector256.Load((sbyte*)act + b * 32)), Vector256.Create(H(ht, blk) * da[b]), acc0);
            acc1 = Fma.MultiplyAdd(DotS(Vector256.Load((sbyte*)blk + 36), Vector256.Load((sbyte*)act + b * 32 + 32)), Vector256.Create(H(ht, blk + 34) * da[b + 1]), acc1);
        }
        if (b < nb)
        {
            byte* blk = row + b * 34;
            acc0 = Fma.MultiplyAdd(DotS(Vector256.Load((sbyte*)blk + 2), Vector256.Load((sbyte*)act + b * 32)), Vector256.Create(H(ht, blk) * da[b]), acc0);
        }
        return Vector256.Sum(acc0 + acc1);
    }

    /// <summary>Prefill: the row's scales gathered once, dw·da formed 8 blocks at a time per token, 4 tokens per loaded block.</summary>
    private static void Q8_0Multi(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        float* ht = Quants.HalfTablePointer;
        int nb = n / 32;
        if (nb > MaxBlocks || nTok < 4)
        {
            for (int t = 0; t < nTok; t++) y[t * yStride] = Q8_0(row, act + t * actStride, n);
            return;
        }
        int nb8 = (nb + 7) & ~7;
        float* dw = stackalloc float[nb8];
        float* sc = stackalloc float[4 * nb8];
        for (int b = 0; b < nb; b++) dw[b] = H(ht, row + b * 34);
        for (int b = nb; b < nb8; b++) dw[b] = 0;
        int t0 = 0;
        for (; t0 + 4 <= nTok; t0 += 4)
        {
            for (int t = 0; t < 4; t++)
            {
                byte* a = act + (t0 + t) * actStride;
                ScalesAndOffset(dw, Q8Act.Scales(a, n), Q8Act.Sums(a, n), sc + t * nb8, nb);
            }
            byte* a0 = act + t0 * actStride, a1 = a0 + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
            // even / odd accumulators exactly as the decode kernel Q8_0 uses: prefill equals token-by-token bit for bit
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c0o = default, c1o = default, c2o = default, c3o = default;
            int b = 0;
            for (; b + 2 <= nb; b += 2)
            {
                var w = Vector256.Load((sbyte*)row + b * 34 + 2);
                var wo = Vector256.Load((sbyte*)row + b * 34 + 36);
                Vector256<byte> u = Avx2.Abs(w), uo = Avx2.Abs(wo);
                int o = b * 32;
                c0 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a0 + o), w)), Vector256.Create(sc[b]), c0);
                c1 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a1 + o), w)), Vector256.Create(sc[nb8 + b]), c1);
                c2 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a2 + o), w)), Vector256.Create(sc[2 * nb8 + b]), c2);
                c3 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a3 + o), w)), Vector256.Create(sc[3 * nb8 + b]), c3);
                c0o = Fma.MultiplyAdd(DotU(uo, Avx2.Sign(Vector256.Load((sbyte*)a0 + o + 32), wo)), Vector256.Create(sc[b + 1]), c0o);
                c1o = Fma.MultiplyAdd(DotU(uo, Avx2.Sign(Vector256.Load((sbyte*)a1 + o + 32), wo)), Vector256.Create(sc[nb8 + b + 1]), c1o);
                c2o = Fma.MultiplyAdd(DotU(uo, Avx2.Sign(Vector256.Load((sbyte*)a2 + o + 32), wo)), Vector256.Create(sc[2 * nb8 + b + 1]), c2o);
                c3o = Fma.MultiplyAdd(DotU(uo, Avx2.Sign(Vector256.Load((sbyte*)a3 + o + 32), wo)), Vector256.Create(sc[3 * nb8 + b + 1]), c3o);
            }
            if (b < nb)
            {
                var w = Vector256.Load((sbyte*)row + b * 34 + 2);
                var u = Avx2.Abs(w);
                int o = b * 32;
                c0 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a0 + o), w)), Vector256.Create(sc[b]), c0);
                c1 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a1 + o), w)), Vector256.Create(sc[nb8 + b]), c1);
                c2 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a2 + o), w)), Vector256.Create(sc[2 * nb8 + b]), c2);
                c3 = Fma.MultiplyAdd(DotU(u, Avx2.Sign(Vector256.Load((sbyte*)a3 + o), w)), Vector256.Create(sc[3 * nb8 + b]), c3);
            }
            c0 += c0o;
            c1 += c1o;
            c2 += c2o;
            c3 += c3o;
            y[t0 * yStride] = Vector256.Sum(c0);
            y[(t0 + 1) * yStride] = Vector256.Sum(c1);
            y[(t0 + 2) * yStride] = Vector256.Sum(c2);
            y[(t0 + 3) * yStride] = Vector256.Sum(c3);
        }
        for (; t0 < nTok; t0++) y[t0 * yStride] = Q8_0(row, act + t0 * actStride, n);
    }

    // ---------------------------------------------------------------- Q4_K: Σ_j d·sc_j·Σu·a − dmin·m_j·Σa

    private static float Q4_K(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        Vector256<float> acc = default, acc1 = default;
        var low = Vector256.Create((byte)0x0F);
        float mins = 0;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = row + i * 144;
            float d = H(ht, blk), dmin = H(ht, blk + 2);
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
                acc1 = Fma.MultiplyAdd(DotU(Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low, Vector256.Load(a + 32)),
                    Vector256.Create(d * sc2 * da[j + 1]), acc1);
                m += m1 * sa[j] + m2 * sa[j + 1];
            }
            mins += dmin * m;
        }
        return Vector256.Sum(acc + acc1) - mins;
    }

    // ---------------------------------------------------------------- Q6_K: Σ d·sc·(q−32)·a over sub-blocks of 16

    private static float Q6_K(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n);
        Vector256<float> acc0 = default, acc1 = default;
        var low = Vector256.Create((byte)0x0F);
        var b45 = Vector256.Create((byte)0x30);
        var m32 = Vector256.Create((sbyte)32);
        // within each 128-bit lane: low lane repeats int16 #0 of the broadcast pair, high lane int16 #1
        var pairSplit = Vector256.Create((byte)0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = row + i * 210;
            float d = H(ht, blk + 208);
            var scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(blk + 192))).AsInt32(); // 8 pairs (sc[2m], sc[2m+1])
            for (int half = 0; half < 2; half++)
            {
                byte* ql = blk + 64 * half;
                byte* qh = blk + 128 + 32 * half;
                int j = 8 * i + 4 * half;
                sbyte* a = (sbyte*)act + 32 * j;
                Vector256<byte> A = Vector256.Load(ql), B = Vector256.Load(ql + 32), Hb = Vector256.Load(qh);
                var q1 = (A & low) | (Vector256.ShiftLeft(Hb.AsUInt16(), 4).AsByte() & b45);
                var q2 = (B & low) | (Vector256.ShiftLeft(Hb.AsUInt16(), 2).AsByte() & b45);
                var q3 = (Vector256.ShiftRightLogical(A.AsUInt16(), 4).AsByte() & low) | (Hb & b45);
                var q4 = (Vector256.ShiftRightLogical(B.AsUInt16(), 4).AsByte() & low) | (Vector256.ShiftRightLogical(Hb.AsUInt16(), 2).AsByte() & b45);
                int m = 4 * half;
                acc0 = Q6Block(q1, a, Pair(scales, m, pairSplit), d * da[j], m32, acc0);
                acc1 = Q6Block(q2, a + 32, Pair(scales, m + 1, pairSplit), d * da[j + 1], m32, acc1);
                acc0 = Q6Block(q3, a + 64, Pair(scales, m + 2, pairSplit), d * da[j + 2], m32, acc0);
                acc1 = Q6Block(q4, a + 96, Pair(scales, m + 3, pairSplit), d * da[j + 3], m32, acc1);
            }
        }
        return Vector256.Sum(acc0 + acc1);
    }

    /// <summary>int16 lanes 0-7 = sc[2m], lanes 8-15 = sc[2m+1] (the two 16-element sub-blocks of one 32-block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pair(Vector256<int> scales, int m, Vector256<byte> split) =>
        Avx2.Shuffle(Avx2.PermuteVar8x32(scales, Vector256.Create(m)).AsByte(), split).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q6Block(Vector256<byte> q, sbyte* a, Vector256<short> sc, float scale, Vector256<sbyte> m32, Vector256<float> acc)
    {
        var w = q.AsSByte() - m32;                                                          // −32..31
        var p = Avx2.MultiplyAddAdjacent(Avx2.Abs(w), Avx2.Sign(Vector256.Load(a), w));     // 16 × int16, lanes 0-7 = first 16
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
