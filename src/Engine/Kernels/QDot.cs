using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// Integer-domain row · activation dot products: the weight row stays in its block format, the activation row is a
/// <see cref="Q8Act"/> row, and each 32-element block is multiplied with AVX2 <c>vpmaddubsw</c> + <c>vpmaddwd</c>
/// (Avx2.MultiplyAddAdjacent), converted to float once per block and scaled by d_w·d_a. Kernels exist for Q4_0, Q4_1,
/// Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K. Without AVX2 + FMA, Q4_0 and Q8_0 get the portable 128-bit kernels
/// (QDot.Vector128.cs). <see cref="Get"/> (chosen once, at model load) returns null for any other case, and the caller
/// keeps the float-domain <see cref="Dot"/> path. <see cref="Reference"/> is the scalar definition.
/// </summary>
[System.Runtime.CompilerServices.SkipLocalsInit]
public static unsafe partial class QDot
{
    /// <summary>Single-row kernel: (weight row, Q8 activation row, n) → Σ w[i]·a[i].</summary>
    public static delegate*<byte*, byte*, int, float> Get(GgmlType type)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported)
            return !Vector128.IsHardwareAccelerated ? null : type switch
            {
                GgmlType.Q4_0 => &Q4_0V128,
                GgmlType.Q8_0 => &Q8_0V128,
                _ => null,
            };
        return type switch
        {
            GgmlType.Q4_0 => &Q4_0,
            GgmlType.Q4_1 => &Legacy<Q4_1Block>,
            GgmlType.Q5_0 => &Legacy<Q5_0Block>,
            GgmlType.Q5_1 => &Legacy<Q5_1Block>,
            GgmlType.Q8_0 => &Q8_0,
            GgmlType.Q4_K => &Q4_K,
            GgmlType.Q5_K => &Q5_K,
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
        if (!Avx2.IsSupported || !Fma.IsSupported)
            return !Vector128.IsHardwareAccelerated ? null : type switch
            {
                GgmlType.Q4_0 => &Q4_0V128Multi,
                GgmlType.Q8_0 => &Q8_0V128Multi,
                _ => null,
            };
        return type switch
        {
            GgmlType.Q4_0 => &Q4_0Multi,
            GgmlType.Q4_1 => &LegacyMulti<Q4_1Block>,
            GgmlType.Q5_0 => &LegacyMulti<Q5_0Block>,
            GgmlType.Q5_1 => &LegacyMulti<Q5_1Block>,
            GgmlType.Q8_0 => &Q8_0Multi,
            GgmlType.Q4_K => &Q4_KMulti,
            GgmlType.Q5_K => &Q5_KMulti,
            GgmlType.Q6_K => &Q6_KMulti,
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

    /// <summary>
    /// Decode (one token): per 8 blocks the weight scales are gathered into one vector, multiplied by the activation
    /// scales (stored, then broadcast per block) and the offset term Σ dw·sa is one FMA; two accumulator chains.
    /// </summary>
    private static float Q4_0(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        float* sc = stackalloc float[8];
        Vector256<float> acc0 = default, acc1 = default, corr = default;
        int nb = n / 32, b = 0;
        for (; b + 8 <= nb; b += 8)
        {
            byte* blk = row + b * 18;
            StreamPrefetch.Ahead(blk, 144);
            var dw = Vector256.Create(H(ht, blk), H(ht, blk + 18), H(ht, blk + 36), H(ht, blk + 54),
                H(ht, blk + 72), H(ht, blk + 90), H(ht, blk + 108), H(ht, blk + 126));
            Vector256.Store(dw * Vector256.Load(da + b), sc);
            corr = Fma.MultiplyAdd(dw, Vector256.Load(sa + b), corr);
            sbyte* a = (sbyte*)act + b * 32;
            for (int k = 0; k < 8; k += 2)
            {
                acc0 = Fma.MultiplyAdd(DotU(Nibbles4_0(blk + 18 * k + 2), Vector256.Load(a + 32 * k)), Vector256.Create(sc[k]), acc0);
                acc1 = Fma.MultiplyAdd(DotU(Nibbles4_0(blk + 18 * k + 20), Vector256.Load(a + 32 * k + 32)), Vector256.Create(sc[k + 1]), acc1);
            }
        }
        float corrTail = 0;
        for (; b < nb; b++)
        {
            byte* blk = row + b * 18;
            float dw = H(ht, blk);
            acc0 = Fma.MultiplyAdd(DotU(Nibbles4_0(blk + 2), Vector256.Load((sbyte*)act + b * 32)), Vector256.Create(dw * da[b]), acc0);
            corrTail += dw * sa[b];
        }
        return Vector256.Sum(acc0 + acc1) - 8 * (Vector256.Sum(corr) + corrTail);
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

    // ---------------------------------------------------------------- Q4_1, Q5_0, Q5_1: w = d·u + off per 32-block

    // u is the unsigned 4- or 5-bit value (the fifth bit of element j is bit j of the block's 32-bit qh), off = m for
    // Q4_1/Q5_1 and −16·d for Q5_0, so Σ w·a = d·da·Σ u·q + off·sa with sa the activation block sum. Per 8 blocks the
    // weight scales and offsets are gathered into vectors (zero-padded past the row's end, activation scales/sums
    // masked-loaded), d·da is one multiply and the offset term one FMA; even and odd blocks use separate accumulators.
    // The 4-token prefill kernel forms the same vectors per token and sums in the same order (bit-identical results).

    private interface ILegacyBlock
    {
        static abstract int Bytes { get; }
        /// <summary>u of the 32 elements (element j in byte j), 0-31.</summary>
        static abstract Vector256<byte> Values(byte* blk);
        static abstract float Scale(float* ht, byte* blk);
        static abstract float Offset(float* ht, byte* blk);
    }

    private struct Q4_1Block : ILegacyBlock
    {
        public static int Bytes => 20;
        public static Vector256<byte> Values(byte* blk) => Nibbles4_0(blk + 4);
        public static float Scale(float* ht, byte* blk) => H(ht, blk);
        public static float Offset(float* ht, byte* blk) => H(ht, blk + 2);
    }

    private struct Q5_0Block : ILegacyBlock
    {
        public static int Bytes => 22;
        public static Vector256<byte> Values(byte* blk) => Nibbles4_0(blk + 6) | FifthBits(blk + 2);
        public static float Scale(float* ht, byte* blk) => H(ht, blk);
        public static float Offset(float* ht, byte* blk) => -16 * H(ht, blk);
    }

    private struct Q5_1Block : ILegacyBlock
    {
        public static int Bytes => 24;
        public static Vector256<byte> Values(byte* blk) => Nibbles4_0(blk + 8) | FifthBits(blk + 4);
        public static float Scale(float* ht, byte* blk) => H(ht, blk);
        public static float Offset(float* ht, byte* blk) => H(ht, blk + 2);
    }

    /// <summary>Byte j = 0x10 when bit j of the 32-bit little-endian word at <paramref name="qh"/> is set, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> FifthBits(byte* qh)
    {
        var v = Vector256.Create(Unsafe.ReadUnaligned<uint>(qh)).AsByte();
        // in-lane shuffle: bytes 0-7 take qh byte 0, 8-15 byte 1 (low lane), 16-23 byte 2, 24-31 byte 3 (high lane)
        var spread = Avx2.Shuffle(v, Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        var bit = Vector256.Create((byte)1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
        return Vector256.Equals(spread & bit, bit) & Vector256.Create((byte)0x10);
    }

    /// <summary>Lanes k &lt; count all ones (for <see cref="Avx.MaskLoad(float*, Vector256{float})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> FirstLanes(int count) =>
        Vector256.GreaterThan(Vector256.Create(count), Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7)).AsSingle();

    private static float Legacy<T>(byte* row, byte* act, int n) where T : struct, ILegacyBlock
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        float* sc = stackalloc float[8];
        float* tail = stackalloc float[16];
        Vector256<float> acc0 = default, acc1 = default, corr = default;
        int nb = n / 32, bs = T.Bytes;
        for (int b = 0; b < nb; b += 8)
        {
            byte* blk = row + b * bs;
            StreamPrefetch.Ahead(blk, 8 * bs);
            int cnt = Math.Min(8, nb - b);
            Vector256<float> dw, ow, dav, sav;
            if (cnt == 8)
            {
                dw = Vector256.Create(T.Scale(ht, blk), T.Scale(ht, blk + bs), T.Scale(ht, blk + 2 * bs), T.Scale(ht, blk + 3 * bs),
                    T.Scale(ht, blk + 4 * bs), T.Scale(ht, blk + 5 * bs), T.Scale(ht, blk + 6 * bs), T.Scale(ht, blk + 7 * bs));
                ow = Vector256.Create(T.Offset(ht, blk), T.Offset(ht, blk + bs), T.Offset(ht, blk + 2 * bs), T.Offset(ht, blk + 3 * bs),
                    T.Offset(ht, blk + 4 * bs), T.Offset(ht, blk + 5 * bs), T.Offset(ht, blk + 6 * bs), T.Offset(ht, blk + 7 * bs));
                dav = Vector256.Load(da + b);
                sav = Vector256.Load(sa + b);
            }
            else
            {
                for (int k = 0; k < 8; k++)
                {
                    tail[k] = k < cnt ? T.Scale(ht, blk + k * bs) : 0;
                    tail[8 + k] = k < cnt ? T.Offset(ht, blk + k * bs) : 0;
                }
                dw = Vector256.Load(tail);
                ow = Vector256.Load(tail + 8);
                var mask = FirstLanes(cnt);
                dav = Avx.MaskLoad(da + b, mask);
                sav = Avx.MaskLoad(sa + b, mask);
            }
            Vector256.Store(dw * dav, sc);
            corr = Fma.MultiplyAdd(ow, sav, corr);
            sbyte* a = (sbyte*)act + b * 32;
            int j = 0;
            for (; j + 2 <= cnt; j += 2)
            {
                acc0 = Fma.MultiplyAdd(DotU(T.Values(blk + j * bs), Vector256.Load(a + 32 * j)), Vector256.Create(sc[j]), acc0);
                acc1 = Fma.MultiplyAdd(DotU(T.Values(blk + (j + 1) * bs), Vector256.Load(a + 32 * j + 32)), Vector256.Create(sc[j + 1]), acc1);
            }
            if (j < cnt) acc0 = Fma.MultiplyAdd(DotU(T.Values(blk + j * bs), Vector256.Load(a + 32 * j)), Vector256.Create(sc[j]), acc0);
        }
        return Vector256.Sum(acc0 + acc1) + Vector256.Sum(corr);
    }

    /// <summary>Prefill: the row's scales and offsets gathered once, each block's u decoded once for 4 tokens. Leftover tokens use <see cref="Legacy{T}"/>.</summary>
    private static void LegacyMulti<T>(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n) where T : struct, ILegacyBlock
    {
        int nb = n / 32, bs = T.Bytes;
        if (nb > MaxBlocks || nTok < 4)
        {
            for (int t = 0; t < nTok; t++) y[t * yStride] = Legacy<T>(row, act + t * actStride, n);
            return;
        }
        float* ht = Quants.HalfTablePointer;
        int nb8 = (nb + 7) & ~7;
        float* dw = stackalloc float[nb8];
        float* ow = stackalloc float[nb8];
        float* sc = stackalloc float[4 * nb8];
        for (int b = 0; b < nb; b++)
        {
            dw[b] = T.Scale(ht, row + b * bs);
            ow[b] = T.Offset(ht, row + b * bs);
        }
        for (int b = nb; b < nb8; b++) dw[b] = ow[b] = 0;
        int t0 = 0;
        for (; t0 + 4 <= nTok; t0 += 4)
        {
            float c0 = LegacyScales(dw, ow, act + t0 * actStride, sc, nb);
            float c1 = LegacyScales(dw, ow, act + (t0 + 1) * actStride, sc + nb8, nb);
            float c2 = LegacyScales(dw, ow, act + (t0 + 2) * actStride, sc + 2 * nb8, nb);
            float c3 = LegacyScales(dw, ow, act + (t0 + 3) * actStride, sc + 3 * nb8, nb);
            sbyte* a0 = (sbyte*)act + t0 * actStride, a1 = a0 + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
            Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
            int b = 0;
            for (; b + 2 <= nb; b += 2)
            {
                var u = T.Values(row + b * bs);
                var uo = T.Values(row + (b + 1) * bs);
                int o = b * 32;
                e0 = Fma.MultiplyAdd(DotU(u, Vector256.Load(a0 + o)), Vector256.Create(sc[b]), e0);
                o0 = Fma.MultiplyAdd(DotU(uo, Vector256.Load(a0 + o + 32)), Vector256.Create(sc[b + 1]), o0);
                e1 = Fma.MultiplyAdd(DotU(u, Vector256.Load(a1 + o)), Vector256.Create(sc[nb8 + b]), e1);
                o1 = Fma.MultiplyAdd(DotU(uo, Vector256.Load(a1 + o + 32)), Vector256.Create(sc[nb8 + b + 1]), o1);
                e2 = Fma.MultiplyAdd(DotU(u, Vector256.Load(a2 + o)), Vector256.Create(sc[2 * nb8 + b]), e2);
                o2 = Fma.MultiplyAdd(DotU(uo, Vector256.Load(a2 + o + 32)), Vector256.Create(sc[2 * nb8 + b + 1]), o2);
                e3 = Fma.MultiplyAdd(DotU(u, Vector256.Load(a3 + o)), Vector256.Create(sc[3 * nb8 + b]), e3);
                o3 = Fma.MultiplyAdd(DotU(uo, Vector256.Load(a3 + o + 32)), Vector256.Create(sc[3 * nb8 + b + 1]), o3);
            }
            if (b < nb)
            {
                var u = T.Values(row + b * bs);
                int o = b * 32;
                e0 = Fma.MultiplyAdd(DotU(u, Vector256.Load(a0 + o)), Vector256.Create(sc[b]), e0);
                e1 = Fma.MultiplyAdd(DotU(u, Vector256.Load(a1 + o)), Vector256.Create(sc[nb8 + b]), e1);
                e2 = Fma.MultiplyAdd(DotU(u, Vector256.Load(a2 + o)), Vector256.Create(sc[2 * nb8 + b]), e2);
                e3 = Fma.MultiplyAdd(DotU(u, Vector256.Load(a3 + o)), Vector256.Create(sc[3 * nb8 + b]), e3);
            }
            y[t0 * yStride] = Vector256.Sum(e0 + o0) + c0;
            y[(t0 + 1) * yStride] = Vector256.Sum(e1 + o1) + c1;
            y[(t0 + 2) * yStride] = Vector256.Sum(e2 + o2) + c2;
            y[(t0 + 3) * yStride] = Vector256.Sum(e3 + o3) + c3;
        }
        for (; t0 < nTok; t0++) y[t0 * yStride] = Legacy<T>(row, act + t0 * actStride, n);
    }

    /// <summary>sc[b] = dw[b]·da[b] and returns Σ ow·sa, 8 blocks at a time exactly as <see cref="Legacy{T}"/> (dw, ow zero-padded to a multiple of 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float LegacyScales(float* dw, float* ow, byte* act, float* sc, int nb)
    {
        int n = nb * 32;
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        var corr = Vector256<float>.Zero;
        for (int b = 0; b < nb; b += 8)
        {
            int cnt = Math.Min(8, nb - b);
            Vector256<float> dav, sav;
            if (cnt == 8)
            {
                dav = Vector256.Load(da + b);
                sav = Vector256.Load(sa + b);
            }
            else
            {
                var mask = FirstLanes(cnt);
                dav = Avx.MaskLoad(da + b, mask);
                sav = Avx.MaskLoad(sa + b, mask);
            }
            Vector256.Store(Vector256.Load(dw + b) * dav, sc + b);
            corr = Fma.MultiplyAdd(Vector256.Load(ow + b), sav, corr);
        }
        return Vector256.Sum(corr);
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
            StreamPrefetch.Ahead(blk, 68);
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

    // ---------------------------------------------------------------- Q4_K: Σ_j d·sc_j·da_j·Σu·a − Σ_j dmin·m_j·sa_j

    // The 6-bit scales and mins of a super-block are unpacked with four 32-bit mask/shift steps (llama.cpp's utmp trick)
    // and turned into 8 float scales d·sc_j and 8 mins dmin·m_j at once; per token the block scales d·sc_j·da_j are one
    // vector multiply and the min term one FMA per super-block. The decode kernel and the 4-token prefill kernel do the
    // same arithmetic in the same order, so prefill equals token-by-token bit for bit.

    /// <summary>Floats d·sc[0..7] and dmin·m[0..7] of one Q4_K super-block (12 packed scale bytes at <paramref name="scales"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScalesMinsK4(byte* scales, float d, float dmin, out Vector256<float> dsc, out Vector256<float> dm)
    {
        const uint K1 = 0x3F3F3F3F, K2 = 0x0F0F0F0F, K3 = 0x03030303;
        uint u0 = Unsafe.ReadUnaligned<uint>(scales), u1 = Unsafe.ReadUnaligned<uint>(scales + 4), u2 = Unsafe.ReadUnaligned<uint>(scales + 8);
        ulong sc = (u0 & K1) | ((ulong)((u2 & K2) | (((u0 >> 6) & K3) << 4)) << 32);
        ulong m = (u1 & K1) | ((ulong)(((u2 >> 4) & K2) | (((u1 >> 6) & K3) << 4)) << 32);
        dsc = Vector256.Create(d) * Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(sc).AsByte()));
        dm = Vector256.Create(dmin) * Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(m).AsByte()));
    }

    private static float Q4_K(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        float* sc = stackalloc float[8];
        Vector256<float> acc0 = default, acc1 = default, mins = default;
        var low = Vector256.Create((byte)0x0F);
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = row + i * 144;
            StreamPrefetch.Ahead(blk, 144);
            ScalesMinsK4(blk + 4, H(ht, blk), H(ht, blk + 2), out var dsc, out var dm);
            Vector256.Store(dsc * Vector256.Load(da + 8 * i), sc);
            mins = Fma.MultiplyAdd(dm, Vector256.Load(sa + 8 * i), mins);
            byte* qs = blk + 16;
            sbyte* a = (sbyte*)act + 256 * i;
            for (int p = 0; p < 4; p++)
            {
                var v = Vector256.Load(qs + 32 * p);
                acc0 = Fma.MultiplyAdd(DotU(v & low, Vector256.Load(a + 64 * p)), Vector256.Create(sc[2 * p]), acc0);
                acc1 = Fma.MultiplyAdd(DotU(Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low, Vector256.Load(a + 64 * p + 32)),
                    Vector256.Create(sc[2 * p + 1]), acc1);
            }
        }
        return Vector256.Sum(acc0 + acc1) - Vector256.Sum(mins);
    }

    /// <summary>
    /// Prefill: the row's float scales and mins unpacked once, per-token block scales formed 8 at a time, then each
    /// 32-byte load of nibbles (two 32-blocks) is multiplied with 4 tokens' activations. Leftover tokens use <see cref="Q4_K"/>.
    /// </summary>
    private static void Q4_KMulti(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        int nb = n / 32, ns = n / 256;
        if (nb > MaxBlocks || nTok < 4)
        {
            for (int t = 0; t < nTok; t++) y[t * yStride] = Q4_K(row, act + t * actStride, n);
            return;
        }
        float* ht = Quants.HalfTablePointer;
        float* dw = stackalloc float[nb];
        float* mw = stackalloc float[nb];
        float* sc = stackalloc float[4 * nb];
        for (int i = 0; i < ns; i++)
        {
            byte* blk = row + i * 144;
            ScalesMinsK4(blk + 4, H(ht, blk), H(ht, blk + 2), out var dsc, out var dm);
            Vector256.Store(dsc, dw + 8 * i);
            Vector256.Store(dm, mw + 8 * i);
        }
        var low = Vector256.Create((byte)0x0F);
        int t0 = 0;
        for (; t0 + 4 <= nTok; t0 += 4)
        {
            float m0 = BlockScales(dw, mw, act + t0 * actStride, sc, nb);
            float m1 = BlockScales(dw, mw, act + (t0 + 1) * actStride, sc + nb, nb);
            float m2 = BlockScales(dw, mw, act + (t0 + 2) * actStride, sc + 2 * nb, nb);
            float m3 = BlockScales(dw, mw, act + (t0 + 3) * actStride, sc + 3 * nb, nb);
            sbyte* a0 = (sbyte*)act + t0 * actStride, a1 = a0 + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
            Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
            for (int b = 0; b < nb; b += 2)
            {
                var v = Vector256.Load(row + (b >> 3) * 144 + 16 + (b & 7) * 16);
                var lo = v & low;
                var hi = Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low;
                int o = b * 32;
                e0 = Fma.MultiplyAdd(DotU(lo, Vector256.Load(a0 + o)), Vector256.Create(sc[b]), e0);
                o0 = Fma.MultiplyAdd(DotU(hi, Vector256.Load(a0 + o + 32)), Vector256.Create(sc[b + 1]), o0);
                e1 = Fma.MultiplyAdd(DotU(lo, Vector256.Load(a1 + o)), Vector256.Create(sc[nb + b]), e1);
                o1 = Fma.MultiplyAdd(DotU(hi, Vector256.Load(a1 + o + 32)), Vector256.Create(sc[nb + b + 1]), o1);
                e2 = Fma.MultiplyAdd(DotU(lo, Vector256.Load(a2 + o)), Vector256.Create(sc[2 * nb + b]), e2);
                o2 = Fma.MultiplyAdd(DotU(hi, Vector256.Load(a2 + o + 32)), Vector256.Create(sc[2 * nb + b + 1]), o2);
                e3 = Fma.MultiplyAdd(DotU(lo, Vector256.Load(a3 + o)), Vector256.Create(sc[3 * nb + b]), e3);
                o3 = Fma.MultiplyAdd(DotU(hi, Vector256.Load(a3 + o + 32)), Vector256.Create(sc[3 * nb + b + 1]), o3);
            }
            y[t0 * yStride] = Vector256.Sum(e0 + o0) - m0;
            y[(t0 + 1) * yStride] = Vector256.Sum(e1 + o1) - m1;
            y[(t0 + 2) * yStride] = Vector256.Sum(e2 + o2) - m2;
            y[(t0 + 3) * yStride] = Vector256.Sum(e3 + o3) - m3;
        }
        for (; t0 < nTok; t0++) y[t0 * yStride] = Q4_K(row, act + t0 * actStride, n);
    }

    /// <summary>
    /// sc[b] = dw[b]·da[b] for b &lt; nb (nb a multiple of 8) and returns Σ mw·sa, summed as the decode kernels do
    /// (one FMA chain over groups of 8, then the lanes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float BlockScales(float* dw, float* mw, byte* act, float* sc, int nb)
    {
        int n = nb * 32;
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        var mins = Vector256<float>.Zero;
        for (int b = 0; b < nb; b += 8)
        {
            Vector256.Store(Vector256.Load(dw + b) * Vector256.Load(da + b), sc + b);
            if (mw != null) mins = Fma.MultiplyAdd(Vector256.Load(mw + b), Vector256.Load(sa + b), mins);
        }
        return Vector256.Sum(mins);
    }

    // ---------------------------------------------------------------- Q5_K: Q4_K plus a fifth bit per weight

    // Super-block (176 bytes): d, dmin (fp16), the 12 scale bytes of Q4_K, qh[32], qs[128]. 32-byte chunk p of qs holds
    // sub-block 2p (low nibbles) and 2p+1 (high nibbles); bit 2p / 2p+1 of qh[l] adds 16 to element l of each. The
    // unsigned 5-bit values u ≤ 31 go through vpmaddubsw exactly as Q4_K's nibbles, and the mins use the block sums.
    // Decode and 4-token prefill kernels share the accumulation order, so prefill equals token-by-token bit for bit.

    /// <summary>The two 5-bit sub-blocks of chunk p: h is qh shifted right (as int16 lanes) by 2p, so bits 0 and 1 of each byte are the fifth bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q5Values(byte* qs, Vector256<ushort> h, out Vector256<byte> lo, out Vector256<byte> hi)
    {
        var v = Vector256.Load(qs);
        var low = Vector256.Create((byte)0x0F);
        var bit4 = Vector256.Create((byte)0x10);
        lo = (v & low) | (Vector256.ShiftLeft(h, 4).AsByte() & bit4);
        hi = (Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low) | (Vector256.ShiftLeft(h, 3).AsByte() & bit4);
    }

    private static float Q5_K(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        float* sc = stackalloc float[8];
        Vector256<float> acc0 = default, acc1 = default, mins = default;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = row + i * 176;
            StreamPrefetch.Ahead(blk, 176);
            ScalesMinsK4(blk + 4, H(ht, blk), H(ht, blk + 2), out var dsc, out var dm);
            Vector256.Store(dsc * Vector256.Load(da + 8 * i), sc);
            mins = Fma.MultiplyAdd(dm, Vector256.Load(sa + 8 * i), mins);
            var h = Vector256.Load((ushort*)(blk + 16));
            byte* qs = blk + 48;
            sbyte* a = (sbyte*)act + 256 * i;
            for (int p = 0; p < 4; p++)
            {
                Q5Values(qs + 32 * p, h, out var lo, out var hi);
                acc0 = Fma.MultiplyAdd(DotU(lo, Vector256.Load(a + 64 * p)), Vector256.Create(sc[2 * p]), acc0);
                acc1 = Fma.MultiplyAdd(DotU(hi, Vector256.Load(a + 64 * p + 32)), Vector256.Create(sc[2 * p + 1]), acc1);
                h = Vector256.ShiftRightLogical(h, 2);
            }
        }
        return Vector256.Sum(acc0 + acc1) - Vector256.Sum(mins);
    }

    /// <summary>
    /// Prefill: as <see cref="Q4_KMulti"/> (scales and mins unpacked once per row, block scales 8 at a time per token),
    /// each chunk's two 5-bit sub-blocks decoded once for 4 tokens. Leftover tokens use <see cref="Q5_K"/>.
    /// </summary>
    private static void Q5_KMulti(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        int nb = n / 32, ns = n / 256;
        if (nb > MaxBlocks || nTok < 4)
        {
            for (int t = 0; t < nTok; t++) y[t * yStride] = Q5_K(row, act + t * actStride, n);
            return;
        }
        float* ht = Quants.HalfTablePointer;
        float* dw = stackalloc float[nb];
        float* mw = stackalloc float[nb];
        float* sc = stackalloc float[4 * nb];
        for (int i = 0; i < ns; i++)
        {
            byte* blk = row + i * 176;
            ScalesMinsK4(blk + 4, H(ht, blk), H(ht, blk + 2), out var dsc, out var dm);
            Vector256.Store(dsc, dw + 8 * i);
            Vector256.Store(dm, mw + 8 * i);
        }
        int t0 = 0;
        for (; t0 + 4 <= nTok; t0 += 4)
        {
            float m0 = BlockScales(dw, mw, act + t0 * actStride, sc, nb);
            float m1 = BlockScales(dw, mw, act + (t0 + 1) * actStride, sc + nb, nb);
            float m2 = BlockScales(dw, mw, act + (t0 + 2) * actStride, sc + 2 * nb, nb);
            float m3 = BlockScales(dw, mw, act + (t0 + 3) * actStride, sc + 3 * nb, nb);
            sbyte* a0 = (sbyte*)act + t0 * actStride, a1 = a0 + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
            Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
            for (int i = 0; i < ns; i++)
            {
                byte* blk = row + i * 176;
                var h = Vector256.Load((ushort*)(blk + 16));
                for (int p = 0; p < 4; p++)
                {
                    Q5Values(blk + 48 + 32 * p, h, out var lo, out var hi);
                    h = Vector256.ShiftRightLogical(h, 2);
                    int b = 8 * i + 2 * p, o = b * 32;
                    e0 = Fma.MultiplyAdd(DotU(lo, Vector256.Load(a0 + o)), Vector256.Create(sc[b]), e0);
                    o0 = Fma.MultiplyAdd(DotU(hi, Vector256.Load(a0 + o + 32)), Vector256.Create(sc[b + 1]), o0);
                    e1 = Fma.MultiplyAdd(DotU(lo, Vector256.Load(a1 + o)), Vector256.Create(sc[nb + b]), e1);
                    o1 = Fma.MultiplyAdd(DotU(hi, Vector256.Load(a1 + o + 32)), Vector256.Create(sc[nb + b + 1]), o1);
                    e2 = Fma.MultiplyAdd(DotU(lo, Vector256.Load(a2 + o)), Vector256.Create(sc[2 * nb + b]), e2);
                    o2 = Fma.MultiplyAdd(DotU(hi, Vector256.Load(a2 + o + 32)), Vector256.Create(sc[2 * nb + b + 1]), o2);
                    e3 = Fma.MultiplyAdd(DotU(lo, Vector256.Load(a3 + o)), Vector256.Create(sc[3 * nb + b]), e3);
                    o3 = Fma.MultiplyAdd(DotU(hi, Vector256.Load(a3 + o + 32)), Vector256.Create(sc[3 * nb + b + 1]), o3);
                }
            }
            y[t0 * yStride] = Vector256.Sum(e0 + o0) - m0;
            y[(t0 + 1) * yStride] = Vector256.Sum(e1 + o1) - m1;
            y[(t0 + 2) * yStride] = Vector256.Sum(e2 + o2) - m2;
            y[(t0 + 3) * yStride] = Vector256.Sum(e3 + o3) - m3;
        }
        for (; t0 < nTok; t0++) y[t0 * yStride] = Q5_K(row, act + t0 * actStride, n);
    }

    // ---------------------------------------------------------------- Q6_K: Σ d·sc·(q−32)·a over sub-blocks of 16

    // Each 32-block is one 32-byte vector of 6-bit values q (4 bits from ql, 2 from qh); w = q − 32 is multiplied with the
    // activations by the sign trick (|w| · sign(a, w)), the int16 pair sums by the two sub-block scales (vpmaddwd), then
    // converted and scaled by d·da once per block. Blocks alternate between two accumulators. The prefill kernel decodes
    // w, |w| and the scale pair once for 4 tokens; both kernels sum in the same order (bit-identical results).

    /// <summary>Within each 128-bit lane: the low lane repeats int16 #0 of the broadcast pair, the high lane int16 #1.</summary>
    private static Vector256<byte> PairSplit => Vector256.Create((byte)0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);

    /// <summary>
    /// The 6-bit values of block r (0-3, a constant at every call site) of one half (128 values) of a Q6_K super-block:
    /// 4 bits from ql (block r&amp;1's 32 bytes, low nibbles for r &lt; 2, high for r ≥ 2) and 2 from qh (bits 2r, 2r+1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Q6Weights(byte* ql, byte* qh, int r)
    {
        var q = Vector256.Load(ql + 32 * (r & 1));
        var h = Vector256.Load(qh);
        var low = Vector256.Create((byte)0x0F);
        var lo = r < 2 ? q & low : Vector256.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & low;
        var hi = r switch
        {
            0 => Vector256.ShiftLeft(h.AsUInt16(), 4).AsByte(),
            1 => Vector256.ShiftLeft(h.AsUInt16(), 2).AsByte(),
            2 => h,
            _ => Vector256.ShiftRightLogical(h.AsUInt16(), 2).AsByte(),
        };
        return (lo | (hi & Vector256.Create((byte)0x30))).AsSByte() - Vector256.Create((sbyte)32);   // −32..31
    }

    private static float Q6_K(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n);
        Vector256<float> acc0 = default, acc1 = default;
        var split = PairSplit;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = row + i * 210;
            StreamPrefetch.Ahead(blk, 210);
            float d = H(ht, blk + 208);
            var scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(blk + 192))).AsInt32(); // 8 pairs (sc[2m], sc[2m+1])
            for (int h = 0; h < 2; h++)
            {
                byte* ql = blk + 64 * h, qh = blk + 128 + 32 * h;
                int k = 4 * h, j = 8 * i + k;
                sbyte* a = (sbyte*)act + 32 * j;
                var w = Q6Weights(ql, qh, 0);
                acc0 = Q6Block(Avx2.Abs(w), w, a, Pair(scales, k, split), d * da[j], acc0);
                w = Q6Weights(ql, qh, 1);
                acc1 = Q6Block(Avx2.Abs(w), w, a + 32, Pair(scales, k + 1, split), d * da[j + 1], acc1);
                w = Q6Weights(ql, qh, 2);
                acc0 = Q6Block(Avx2.Abs(w), w, a + 64, Pair(scales, k + 2, split), d * da[j + 2], acc0);
                w = Q6Weights(ql, qh, 3);
                acc1 = Q6Block(Avx2.Abs(w), w, a + 96, Pair(scales, k + 3, split), d * da[j + 3], acc1);
            }
        }
        return Vector256.Sum(acc0 + acc1);
    }

    /// <summary>Prefill: each block's |w|, sign source and scale pair decoded once and used for 4 tokens. Leftover tokens use <see cref="Q6_K"/>.</summary>
    private static void Q6_KMulti(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        int nb = n / 32;
        if (nb > MaxBlocks || nTok < 4)
        {
            for (int t = 0; t < nTok; t++) y[t * yStride] = Q6_K(row, act + t * actStride, n);
            return;
        }
        float* ht = Quants.HalfTablePointer;
        float* dw = stackalloc float[nb];
        float* sc = stackalloc float[4 * nb];
        for (int i = 0; i < n / 256; i++) Vector256.Store(Vector256.Create(H(ht, row + i * 210 + 208)), dw + 8 * i);
        var split = PairSplit;
        int t0 = 0;
        for (; t0 + 4 <= nTok; t0 += 4)
        {
            BlockScales(dw, null, act + t0 * actStride, sc, nb);
            BlockScales(dw, null, act + (t0 + 1) * actStride, sc + nb, nb);
            BlockScales(dw, null, act + (t0 + 2) * actStride, sc + 2 * nb, nb);
            BlockScales(dw, null, act + (t0 + 3) * actStride, sc + 3 * nb, nb);
            sbyte* a0 = (sbyte*)act + t0 * actStride, a1 = a0 + actStride, a2 = a1 + actStride, a3 = a2 + actStride;
            Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
            for (int i = 0; i < n / 256; i++)
            {
                byte* blk = row + i * 210;
                var scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(blk + 192))).AsInt32();
                for (int h = 0; h < 2; h++)
                {
                    byte* ql = blk + 64 * h, qh = blk + 128 + 32 * h;
                    int k = 4 * h, j = 8 * i + k, o = 32 * j;
                    // blocks r = 0, 2 → even accumulators; r = 1, 3 → odd (the decode kernel's order)
                    var w = Q6Weights(ql, qh, 0);
                    var u = Avx2.Abs(w);
                    var p = Pair(scales, k, split);
                    e0 = Q6Block(u, w, a0 + o, p, sc[j], e0);
                    e1 = Q6Block(u, w, a1 + o, p, sc[nb + j], e1);
                    e2 = Q6Block(u, w, a2 + o, p, sc[2 * nb + j], e2);
                    e3 = Q6Block(u, w, a3 + o, p, sc[3 * nb + j], e3);
                    w = Q6Weights(ql, qh, 1);
                    u = Avx2.Abs(w);
                    p = Pair(scales, k + 1, split);
                    o0 = Q6Block(u, w, a0 + o + 32, p, sc[j + 1], o0);
                    o1 = Q6Block(u, w, a1 + o + 32, p, sc[nb + j + 1], o1);
                    o2 = Q6Block(u, w, a2 + o + 32, p, sc[2 * nb + j + 1], o2);
                    o3 = Q6Block(u, w, a3 + o + 32, p, sc[3 * nb + j + 1], o3);
                    w = Q6Weights(ql, qh, 2);
                    u = Avx2.Abs(w);
                    p = Pair(scales, k + 2, split);
                    e0 = Q6Block(u, w, a0 + o + 64, p, sc[j + 2], e0);
                    e1 = Q6Block(u, w, a1 + o + 64, p, sc[nb + j + 2], e1);
                    e2 = Q6Block(u, w, a2 + o + 64, p, sc[2 * nb + j + 2], e2);
                    e3 = Q6Block(u, w, a3 + o + 64, p, sc[3 * nb + j + 2], e3);
                    w = Q6Weights(ql, qh, 3);
                    u = Avx2.Abs(w);
                    p = Pair(scales, k + 3, split);
                    o0 = Q6Block(u, w, a0 + o + 96, p, sc[j + 3], o0);
                    o1 = Q6Block(u, w, a1 + o + 96, p, sc[nb + j + 3], o1);
                    o2 = Q6Block(u, w, a2 + o + 96, p, sc[2 * nb + j + 3], o2);
                    o3 = Q6Block(u, w, a3 + o + 96, p, sc[3 * nb + j + 3], o3);
                }
            }
            y[t0 * yStride] = Vector256.Sum(e0 + o0);
            y[(t0 + 1) * yStride] = Vector256.Sum(e1 + o1);
            y[(t0 + 2) * yStride] = Vector256.Sum(e2 + o2);
            y[(t0 + 3) * yStride] = Vector256.Sum(e3 + o3);
        }
        for (; t0 < nTok; t0++) y[t0 * yStride] = Q6_K(row, act + t0 * actStride, n);
    }

    /// <summary>int16 lanes 0-7 = sc[2m], lanes 8-15 = sc[2m+1] (the two 16-element sub-blocks of one 32-block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pair(Vector256<int> scales, int m, Vector256<byte> split) =>
        Avx2.Shuffle(Avx2.PermuteVar8x32(scales, Vector256.Create(m)).AsByte(), split).AsInt16();

    /// <summary>acc + scale · Σ_sub-blocks sc·(|w| · sign(a, w)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q6Block(Vector256<byte> u, Vector256<sbyte> w, sbyte* a, Vector256<short> sc, float scale, Vector256<float> acc)
    {
        var p = Avx2.MultiplyAddAdjacent(u, Avx2.Sign(Vector256.Load(a), w));     // 16 × int16, lanes 0-7 = first 16
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(p, sc)), Vector256.Create(scale), acc);
    }
}
