using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>Element-wise and normalisation kernels used by the forward pass (plain loops, vectorised where trivial).</summary>
public static unsafe class Ops
{
    /// <summary>o[i] = w[i] · x[i] / sqrt(mean(x²) + eps)  (RMSNorm, as llama2.c rmsnorm / ggml_rms_norm + mul).</summary>
    public static void RmsNorm(float* x, float* w, float* o, int n, float eps)
    {
        float ss = Dot.F32(x, x, n);
        ss = 1f / MathF.Sqrt(ss / n + eps);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(ss);
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(w + i) * (s * Vector256.Load(x + i)), o + i);
        }
        for (; i < n; i++) o[i] = w[i] * (ss * x[i]);
    }

    /// <summary>
    /// Scores more than this below the maximum get probability 0. e^-64 ≈ 1.6e-28 is far below a float's resolution
    /// against the maximum's weight (≥ 1/n), so nothing representable is lost, and every probability kept stays a normal
    /// float up to n = 10^9: an exp that underflows towards a subnormal, and every FMA that then multiplies a subnormal
    /// probability in the attention's weighted sum, takes a ~150-cycle microcode assist (x86, DAZ off). Measured, one
    /// softmax plus weighted sum over 4096 positions (head dim 64): 17.7 µs with scores spread over 10, 308 µs with 120.
    /// </summary>
    internal const float SoftmaxFloor = -64f;

    /// <summary>In-place softmax over x[0..n) (vectorised max, exp and sum when Vector256 is accelerated); see <see cref="SoftmaxFloor"/>.</summary>
    public static void Softmax(float* x, int n) => Softmax(x, n, 1f);

    /// <summary>
    /// <see cref="Softmax(float*, int)"/> times <paramref name="scale"/>, a power of two (attention passes
    /// <see cref="HalfBitsUnit"/>): each probability is the same rounded value times it, exactly.
    /// </summary>
    public static void Softmax(float* x, int n, float scale)
    {
        int i = 0;
        float max = x[0];
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var vm = Vector256.Load(x);
            for (i = 8; i <= n - 8; i += 8) vm = Vector256.Max(vm, Vector256.Load(x + i));
            for (int l = 0; l < 8; l++) max = MathF.Max(max, vm.GetElement(l));
        }
        for (; i < n; i++) if (x[i] > max) max = x[i];
        float sum = 0;
        i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vmax = Vector256.Create(max);
            var floor = Vector256.Create(SoftmaxFloor);
            var vs = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8)
            {
                // clamped first, so the exp itself never goes near the subnormal range, then zeroed
                var d = Vector256.Max(Vector256.Load(x + i) - vmax, floor);
                var e = Vector256.Exp(d) & Vector256.GreaterThan(d, floor);
                Vector256.Store(e, x + i);
                vs += e;
            }
            sum = Vector256.Sum(vs);
        }
        for (; i < n; i++)
        {
            float d = x[i] - max;
            x[i] = d > SoftmaxFloor ? MathF.Exp(d) : 0f;
            sum += x[i];
        }
        float inv = 1f / sum * scale; // ≤ 1 · scale: sum ≥ 1 (the maximum contributes e^0)
        i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vinv = Vector256.Create(inv);
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(x + i) * vinv, x + i);
        }
        for (; i < n; i++) x[i] *= inv;
    }

    /// <summary>
    /// dst[i] = scale · (q · rows[i]) for i &lt; m (rows [m][hd] contiguous). AVX2+FMA with hd a multiple of 8: eight rows at a
    /// time in eight FMA chains, reduced to one vector of 8 scores by a horizontal-add tree; the rest per row.
    /// </summary>
    public static void Scores(float* q, float* rows, int hd, int m, float scale, float* dst)
    {
        int i = 0;
        if (Fma.IsSupported && Avx2.IsSupported && hd % 8 == 0)
        {
            var vs = Vector256.Create(scale);
            for (; i + 8 <= m; i += 8)
            {
                float* r = rows + (long)i * hd;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (int d = 0; d < hd; d += 8)
                {
                    var qv = Vector256.Load(q + d);
                    a0 = Fma.MultiplyAdd(qv, Vector256.Load(r + d), a0);
                    a1 = Fma.MultiplyAdd(qv, Vector256.Load(r + hd + d), a1);
                    a2 = Fma.MultiplyAdd(qv, Vector256.Load(r + 2 * hd + d), a2);
                    a3 = Fma.MultiplyAdd(qv, Vector256.Load(r + 3 * hd + d), a3);
                    a4 = Fma.MultiplyAdd(qv, Vector256.Load(r + 4 * hd + d), a4);
                    a5 = Fma.MultiplyAdd(qv, Vector256.Load(r + 5 * hd + d), a5);
                    a6 = Fma.MultiplyAdd(qv, Vector256.Load(r + 6 * hd + d), a6);
                    a7 = Fma.MultiplyAdd(qv, Vector256.Load(r + 7 * hd + d), a7);
                }
                // per 128-bit lane: hadd(hadd(a0,a1), hadd(a2,a3)) = [Σa0 Σa1 Σa2 Σa3] of that lane's half
                var s0123 = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));
                var s4567 = Avx.HorizontalAdd(Avx.HorizontalAdd(a4, a5), Avx.HorizontalAdd(a6, a7));
                var sum = Avx.Permute2x128(s0123, s4567, 0x20) + Avx.Permute2x128(s0123, s4567, 0x31);
                Vector256.Store(sum * vs, dst + i);
            }
        }
        for (; i < m; i++) dst[i] = Dot.F32(q, rows + (long)i * hd, hd) * scale;
    }

    /// <summary>
    /// <see cref="Scores"/> for the 4 query heads of a GQA group (q [4][hd], scores to dst + g·dstStride) against m F16
    /// key rows read as half bits (<see cref="HalfBitsToFloat"/>): each key row is loaded and converted in registers once
    /// for the four heads, where converting a chunk to a buffer and reading it back once per head took twice the loads.
    /// Bit-identical to that: every score is the same FMA chain and the same reduction tree. Two keys by four heads are eight
    /// FMA chains, reduced by <see cref="Scores"/>'s tree; the rows past the last multiple of 8, which <see cref="Scores"/>
    /// takes one by one, are converted into <paramref name="tail"/> (8·hd floats) and given to it. Needs AVX2+FMA and hd
    /// a multiple of 8 (<see cref="CanScoreFourHeads"/>). <paramref name="prefetchNext"/> as for <see cref="HalfBitsToFloat"/>.
    /// </summary>
    public static void ScoresFourHeads(float* q, ushort* keys, int hd, int m, float scale, float* dst, long dstStride, float* tail, byte* prefetchNext)
    {
        int m8 = m & ~7, rowBytes = 2 * hd;
        var vs = Vector256.Create(scale);
        float* q1 = q + hd, q2 = q1 + hd, q3 = q2 + hd;
        for (int i = 0; i < m8; i += 2)
        {
            ushort* k0 = keys + (long)i * hd, k1 = k0 + hd;
            if (prefetchNext != null) StreamPrefetch.IntoL1(prefetchNext + (long)i * rowBytes, 2 * rowBytes);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int d = 0; d < hd; d += 8)
            {
                var r0 = RowGroups.HalfBits((byte*)(k0 + d));
                var r1 = RowGroups.HalfBits((byte*)(k1 + d));
                var h0 = Vector256.Load(q + d);
                a0 = Fma.MultiplyAdd(h0, r0, a0);
                a1 = Fma.MultiplyAdd(h0, r1, a1);
                var h1 = Vector256.Load(q1 + d);
                a2 = Fma.MultiplyAdd(h1, r0, a2);
                a3 = Fma.MultiplyAdd(h1, r1, a3);
                var h2 = Vector256.Load(q2 + d);
                a4 = Fma.MultiplyAdd(h2, r0, a4);
                a5 = Fma.MultiplyAdd(h2, r1, a5);
                var h3 = Vector256.Load(q3 + d);
                a6 = Fma.MultiplyAdd(h3, r0, a6);
                a7 = Fma.MultiplyAdd(h3, r1, a7);
            }
            // Scores' tree: lanes [head 0 key i, head 0 key i+1, head 1 key i, ..., head 3 key i+1]
            var s0123 = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));
            var s4567 = Avx.HorizontalAdd(Avx.HorizontalAdd(a4, a5), Avx.HorizontalAdd(a6, a7));
            var sum = (Avx.Permute2x128(s0123, s4567, 0x20) + Avx.Permute2x128(s0123, s4567, 0x31)) * vs;
            Sse.StoreLow(dst + i, sum.GetLower());
            Sse.StoreHigh(dst + dstStride + i, sum.GetLower());
            Sse.StoreLow(dst + 2 * dstStride + i, sum.GetUpper());
            Sse.StoreHigh(dst + 3 * dstStride + i, sum.GetUpper());
        }
        if (m8 == m) return;
        HalfBitsToFloat(keys + (long)m8 * hd, tail, (m - m8) * hd, null);
        for (int g = 0; g < 4; g++) Scores(q + g * hd, tail, hd, m - m8, scale, dst + g * dstStride + m8);
    }

    /// <summary>Whether <see cref="ScoresFourHeads"/> runs here for this head dimension.</summary>
    public static bool CanScoreFourHeads(int hd) => Avx2.IsSupported && Fma.IsSupported && hd % 8 == 0;

    /// <summary>
    /// o[0..hd) += Σ_i w[i] · rows[i] for i &lt; m (rows [m][hd] contiguous). AVX2+FMA with hd a multiple of 32: 32 outputs
    /// held in registers across the rows, even and odd rows in separate FMA chains; otherwise one axpy per row.
    /// </summary>
    public static void WeightedSum(float* w, float* rows, int hd, int m, float* o)
    {
        if (!Fma.IsSupported || hd % 32 != 0)
        {
            for (int i = 0; i < m; i++) Axpy(w[i], rows + (long)i * hd, o, hd);
            return;
        }
        for (int d = 0; d < hd; d += 32)
        {
            Vector256<float> e0 = Vector256.Load(o + d), e1 = Vector256.Load(o + d + 8), e2 = Vector256.Load(o + d + 16), e3 = Vector256.Load(o + d + 24);
            Vector256<float> o0 = default, o1 = default, o2 = default, o3 = default;
            float* r = rows + d;
            int i = 0;
            for (; i + 2 <= m; i += 2, r += 2 * hd)
            {
                var we = Vector256.Create(w[i]);
                var wo = Vector256.Create(w[i + 1]);
                e0 = Fma.MultiplyAdd(we, Vector256.Load(r), e0);
                e1 = Fma.MultiplyAdd(we, Vector256.Load(r + 8), e1);
                e2 = Fma.MultiplyAdd(we, Vector256.Load(r + 16), e2);
                e3 = Fma.MultiplyAdd(we, Vector256.Load(r + 24), e3);
                o0 = Fma.MultiplyAdd(wo, Vector256.Load(r + hd), o0);
                o1 = Fma.MultiplyAdd(wo, Vector256.Load(r + hd + 8), o1);
                o2 = Fma.MultiplyAdd(wo, Vector256.Load(r + hd + 16), o2);
                o3 = Fma.MultiplyAdd(wo, Vector256.Load(r + hd + 24), o3);
            }
            if (i < m)
            {
                var we = Vector256.Create(w[i]);
                e0 = Fma.MultiplyAdd(we, Vector256.Load(r), e0);
                e1 = Fma.MultiplyAdd(we, Vector256.Load(r + 8), e1);
                e2 = Fma.MultiplyAdd(we, Vector256.Load(r + 16), e2);
                e3 = Fma.MultiplyAdd(we, Vector256.Load(r + 24), e3);
            }
            Vector256.Store(e0 + o0, o + d);
            Vector256.Store(e1 + o1, o + d + 8);
            Vector256.Store(e2 + o2, o + d + 16);
            Vector256.Store(e3 + o3, o + d + 24);
        }
    }

    /// <summary>
    /// <see cref="WeightedSum"/> for the 4 query heads of a GQA group (probabilities w + g·wStride, outputs o + g·hd) over m
    /// F16 value rows read as half bits (<see cref="HalfBitsToFloat"/>; the probabilities carry the 2¹¹²): each 8 values
    /// of a row are loaded and converted in registers once for the four heads, where converting a chunk to a buffer and
    /// reading it back once per head took twice the loads. Bit-identical to that: per head and 8 outputs, the same two
    /// FMA chains (even rows onto the output, odd rows from zero, added at the end). Needs AVX2+FMA and hd a multiple of
    /// 32 (<see cref="CanWeighFourHeads"/>). <paramref name="prefetchNext"/> as for <see cref="HalfBitsToFloat"/>.
    /// </summary>
    public static void WeightedSumFourHeads(float* w, long wStride, ushort* values, int hd, int m, float* o, byte* prefetchNext)
    {
        float* w1 = w + wStride, w2 = w1 + wStride, w3 = w2 + wStride;
        int rowBytes = 2 * hd;
        for (int d = 0; d < hd; d += 8)
        {
            float* o0 = o + d, o1 = o0 + hd, o2 = o1 + hd, o3 = o2 + hd;
            Vector256<float> e0 = Vector256.Load(o0), e1 = Vector256.Load(o1), e2 = Vector256.Load(o2), e3 = Vector256.Load(o3);
            Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
            ushort* r = values + d;
            int i = 0;
            for (; i + 2 <= m; i += 2, r += 2 * hd)
            {
                if (d == 0 && prefetchNext != null) StreamPrefetch.IntoL1(prefetchNext + (long)i * rowBytes, 2 * rowBytes);
                var even = RowGroups.HalfBits((byte*)r);
                var odd = RowGroups.HalfBits((byte*)(r + hd));
                e0 = Fma.MultiplyAdd(Vector256.Create(w[i]), even, e0);
                f0 = Fma.MultiplyAdd(Vector256.Create(w[i + 1]), odd, f0);
                e1 = Fma.MultiplyAdd(Vector256.Create(w1[i]), even, e1);
                f1 = Fma.MultiplyAdd(Vector256.Create(w1[i + 1]), odd, f1);
                e2 = Fma.MultiplyAdd(Vector256.Create(w2[i]), even, e2);
                f2 = Fma.MultiplyAdd(Vector256.Create(w2[i + 1]), odd, f2);
                e3 = Fma.MultiplyAdd(Vector256.Create(w3[i]), even, e3);
                f3 = Fma.MultiplyAdd(Vector256.Create(w3[i + 1]), odd, f3);
            }
            if (i < m)
            {
                var last = RowGroups.HalfBits((byte*)r);
                e0 = Fma.MultiplyAdd(Vector256.Create(w[i]), last, e0);
                e1 = Fma.MultiplyAdd(Vector256.Create(w1[i]), last, e1);
                e2 = Fma.MultiplyAdd(Vector256.Create(w2[i]), last, e2);
                e3 = Fma.MultiplyAdd(Vector256.Create(w3[i]), last, e3);
            }
            Vector256.Store(e0 + f0, o0);
            Vector256.Store(e1 + f1, o1);
            Vector256.Store(e2 + f2, o2);
            Vector256.Store(e3 + f3, o3);
        }
    }

    /// <summary>Whether <see cref="WeightedSumFourHeads"/> runs here for this head dimension.</summary>
    public static bool CanWeighFourHeads(int hd) => Avx2.IsSupported && Fma.IsSupported && hd % 32 == 0;

    /// <summary>y[i] += a · x[i].</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float a, float* x, float* y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(y + i) + va * Vector256.Load(x + i), y + i);
        }
        for (; i < n; i++) y[i] += a * x[i];
    }

    /// <summary>y[i] += x[i].</summary>
    public static void Add(float* x, float* y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(y + i) + Vector256.Load(x + i), y + i);
        for (; i < n; i++) y[i] += x[i];
    }

    /// <summary>g[i] = silu(g[i]) · u[i]  (SwiGLU).</summary>
    public static void SwiGlu(float* g, float* u, int n)
    {
        int i = 0;
        // vectorised: a scalar exp per element was ~1% of a 1B decode step (8192 × 16 per token)
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8)
            {
                var v = Vector256.Load(g + i);
                Vector256.Store(v / (Vector256<float>.One + Vector256.Exp(-v)) * Vector256.Load(u + i), g + i);
            }
        for (; i < n; i++)
        {
            float v = g[i];
            // the vector exp for the tail too, so an element's value does not depend on where a call's rows split it
            float e = Vector256.IsHardwareAccelerated ? Vector256.Exp(Vector256.Create(-v)).ToScalar() : MathF.Exp(-v);
            g[i] = v / (1f + e) * u[i];
        }
    }

    /// <summary>
    /// dst[i] = (float)src[i] for IEEE halves, exact (normals, subnormals, ±0, ±Inf, NaN). AVX2: eight at a time with
    /// integer ops (no F16C in .NET 9): shift exponent+mantissa into float position, multiply by 2^112 to rebias (this
    /// also normalises subnormals), force the exponent to 255 for Inf/NaN, then OR in the sign.
    /// </summary>
    public static void HalfToFloat(ushort* src, float* dst, int n)
    {
        int i = 0;
        if (Avx2.IsSupported)
        {
            // sign-extended and shifted into float position: the sign lands in bit 31 (its copies in bits 28-30 are
            // cleared), and the multiply by 2^112 rebiases the exponent and normalises subnormals with the sign kept;
            // a half with the top exponent (Inf/NaN) comes out ≥ 2^16 in magnitude and gets the float's top exponent
            var keep = Vector256.Create(unchecked((int)0x8FFFFFFF));
            var rebias = Vector256.Create(5.192296858534828e33f); // 2^112
            var abs = Vector256.Create(0x7FFFFFFF).AsSingle();
            var wasInfNan = Vector256.Create(65536f);
            var expMax = Vector256.Create(255 << 23).AsSingle();
            for (; i <= n - 8; i += 8)
            {
                var h = Avx2.ConvertToVector256Int32(Vector128.Load((short*)src + i));
                var o = (Avx2.ShiftLeftLogical(h, 13) & keep).AsSingle() * rebias;
                Vector256.Store(o | (Vector256.GreaterThanOrEqual(o & abs, wasInfNan) & expMax), dst + i);
            }
        }
        for (; i < n; i++) dst[i] = Quants.HalfToFloat(src[i]);
    }

    /// <summary>
    /// 2¹¹²: a half's exponent and mantissa bits moved into float position, as <see cref="HalfBitsToFloat"/> leaves them,
    /// are the half's value / 2¹¹² (exact, as the same bits with the exponent bias of a half).
    /// </summary>
    public const float HalfBitsUnit = 5.192296858534828e33f;

    /// <summary>
    /// dst[i] = src[i] / 2¹¹² for finite IEEE halves, exact (see <see cref="HalfBitsUnit"/>): three integer operations per
    /// eight halves, where <see cref="HalfToFloat"/>'s rebias and Inf/NaN fix-up take eight. Callers fold 2¹¹² into their
    /// other factor (attention: the queries and the probabilities) and keep Inf and NaN halves away, which come out finite
    /// here. With <paramref name="prefetchNext"/> not null, the n halves there are prefetched into L1 as these are read
    /// (one line per line converted): attention gives it the chunk it converts next.
    /// </summary>
    public static void HalfBitsToFloat(ushort* src, float* dst, int n, byte* prefetchNext)
    {
        int i = 0;
        if (Avx2.IsSupported)
        {
            for (; i <= n - 32; i += 32) // one line of halves per step
            {
                if (prefetchNext != null) Sse.Prefetch0(prefetchNext + 2 * i);
                Vector256.Store(RowGroups.HalfBits((byte*)(src + i)), dst + i);
                Vector256.Store(RowGroups.HalfBits((byte*)(src + i + 8)), dst + i + 8);
                Vector256.Store(RowGroups.HalfBits((byte*)(src + i + 16)), dst + i + 16);
                Vector256.Store(RowGroups.HalfBits((byte*)(src + i + 24)), dst + i + 24);
            }
        }
        for (; i < n; i++)
        {
            uint h = src[i];
            dst[i] = BitConverter.UInt32BitsToSingle((h & 0x8000u) << 16 | (h & 0x7FFFu) << 13);
        }
    }

    /// <summary>Whether any of the n halves is Inf or NaN (exponent bits all set).</summary>
    public static bool AnyHalfNonFinite(ushort* h, int n)
    {
        for (int i = 0; i < n; i++) if ((h[i] & 0x7C00) == 0x7C00) return true;
        return false;
    }

    /// <summary>
    /// x[i] *= factor if every |x[i]| is below <paramref name="limit"/> (NaN counts as not below); false, leaving x as it
    /// was, otherwise.
    /// </summary>
    public static bool ScaleIfBelow(float* x, int n, float factor, float limit)
    {
        int i = 0;
        bool below = true;
        if (Vector256.IsHardwareAccelerated)
        {
            var l = Vector256.Create(limit);
            var ok = Vector256<float>.AllBitsSet;
            for (; i <= n - 8; i += 8) ok &= Vector256.LessThan(Vector256.Abs(Vector256.Load(x + i)), l);
            below = Vector256.ExtractMostSignificantBits(ok) == 0xFF; // (== on float lanes would compare NaN patterns)
        }
        for (; i < n && below; i++) below = MathF.Abs(x[i]) < limit;
        if (!below) return false;
        i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var f = Vector256.Create(factor);
            for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(x + i) * f, x + i);
        }
        for (; i < n; i++) x[i] *= factor;
        return true;
    }

    /// <summary>
    /// dst[i] = (Half)src[i] (round to nearest even; overflow to ±Inf; NaN payloads as .NET keeps them), bit for bit.
    /// Every new key and value row of the F16 cache goes through here (32 rows per token for the 1B shape); .NET's scalar
    /// conversion, one element at a time, was ~0.3% of a decode step.
    /// </summary>
    public static void FloatToHalf(float* src, ushort* dst, int n)
    {
        int i = 0;
        if (Avx2.IsSupported)
            for (; i <= n - 8; i += 8)
                Vector128.Store(FloatToHalf8(Vector256.Load(src + i)), dst + i);
        for (; i < n; i++) dst[i] = BitConverter.HalfToUInt16Bits((Half)src[i]);
    }

    /// <summary>
    /// 8 floats to halves: .NET 9's branchless <c>(Half)float</c>, step for step, on vectors. The rounding is done by the
    /// FPU: adding 2^(e+13) to a float of exponent e leaves its top 11 significant bits, rounded to nearest even, which
    /// the shifts then move into half position (subnormal halves fall out of the same add with the exponent floor 2⁻¹⁴).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector128<ushort> FloatToHalf8(Vector256<float> x)
    {
        var bits = x.AsUInt32();
        var sign = Avx2.ShiftRightLogical(bits & Vector256.Create(0x8000_0000u), 16);
        var realMask = ~Avx.CompareUnordered(x, x).AsUInt32(); // all ones unless NaN
        // vminps/vmaxps return the second operand when either is NaN: a NaN stays NaN through both, as in the scalar code
        var value = Avx.Min(Vector256.Create(65520f), (bits & Vector256.Create(0x7FFF_FFFFu)).AsSingle());
        var exponentOffset = Avx.Max(Vector256.Create(0x3880_0000u).AsSingle(), value).AsUInt32() & Vector256.Create(0x7F80_0000u);
        exponentOffset += Vector256.Create(13u << 23);
        var rounded = (value + exponentOffset.AsSingle()).AsUInt32();
        var nanExponent = ~realMask & Vector256.Create(0x7C00u);
        rounded -= Vector256.Create(126u << 23);
        var newExponent = Avx2.ShiftRightLogical(rounded, 13);
        rounded &= realMask;
        rounded += newExponent;
        rounded &= ~nanExponent;
        rounded |= nanExponent | sign;
        // the low 16 bits of each lane, in order: pack the two 128-bit halves (values ≤ 0xFFFF, so no saturation)
        var low = rounded & Vector256.Create(0xFFFFu);
        return Sse41.PackUnsignedSaturate(low.GetLower().AsInt32(), low.GetUpper().AsInt32());
    }
}
