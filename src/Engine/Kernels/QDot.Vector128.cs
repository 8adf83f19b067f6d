using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// Portable 128-bit integer-domain kernels for Q4_0 and Q8_0 (any CPU where <see cref="Vector128.IsHardwareAccelerated"/>:
/// SSE2-class x86 without AVX2, Arm64 AdvSimd). int8 values are widened to int16, multiplied (|u·q| ≤ 127·127 fits),
/// summed in pairs in int16 and in int32 beyond, converted once per 32-block and scaled by d_w·d_a, as the AVX2 kernels.
/// <see cref="Get"/> uses them when AVX2 is absent; other types then keep the float-domain kernels.
/// </summary>
public static unsafe partial class QDot
{
    /// <summary>Σ over a 32-block of w[i]·q[i] as 4 int32 lanes; w and q given as four 8-element int16 vectors each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> BlockSum128(Vector128<byte> w0, Vector128<byte> w1, bool wSigned, sbyte* q)
    {
        Vector128<sbyte> q0 = Vector128.Load(q), q1 = Vector128.Load(q + 16);
        (Vector128<short> a, Vector128<short> b) = Vector128.Widen(q0);
        (Vector128<short> c, Vector128<short> d) = Vector128.Widen(q1);
        Vector128<short> u0, u1, u2, u3;
        if (wSigned)
        {
            (u0, u1) = Vector128.Widen(w0.AsSByte());
            (u2, u3) = Vector128.Widen(w1.AsSByte());
        }
        else
        {
            (Vector128<ushort> x0, Vector128<ushort> x1) = Vector128.Widen(w0);
            (Vector128<ushort> x2, Vector128<ushort> x3) = Vector128.Widen(w1);
            (u0, u1, u2, u3) = (x0.AsInt16(), x1.AsInt16(), x2.AsInt16(), x3.AsInt16());
        }
        // each product fits int16 (|w| ≤ 127, |q| ≤ 127); widen before adding so sums cannot overflow
        (Vector128<int> s0, Vector128<int> s1) = Vector128.Widen(u0 * a);
        (Vector128<int> s2, Vector128<int> s3) = Vector128.Widen(u1 * b);
        (Vector128<int> s4, Vector128<int> s5) = Vector128.Widen(u2 * c);
        (Vector128<int> s6, Vector128<int> s7) = Vector128.Widen(u3 * d);
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /// <summary>Q4_0 · Q8 activations: Σ d_w·d_a·Σ(u−8)·q = Σ d_w·(d_a·Σu·q − 8·s_a).</summary>
    internal static float Q4_0V128(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n), sa = Q8Act.Sums(act, n);
        var m = Vector128.Create((byte)0x0F);
        var acc = Vector128<float>.Zero;
        float corr = 0;
        for (int b = 0; b < n / 32; b++)
        {
            byte* blk = row + b * 18;
            float dw = H(ht, blk);
            var v = Vector128.Load(blk + 2);
            var s = BlockSum128(v & m, Vector128.ShiftRightLogical(v, 4), wSigned: false, (sbyte*)act + b * 32);
            acc += Vector128.ConvertToSingle(s) * Vector128.Create(dw * da[b]);
            corr += dw * sa[b];
        }
        return Vector128.Sum(acc) - 8 * corr;
    }

    /// <summary>Q8_0 · Q8 activations.</summary>
    internal static float Q8_0V128(byte* row, byte* act, int n)
    {
        float* ht = Quants.HalfTablePointer;
        float* da = Q8Act.Scales(act, n);
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 32; b++)
        {
            byte* blk = row + b * 34;
            var s = BlockSum128(Vector128.Load(blk + 2), Vector128.Load(blk + 18), wSigned: true, (sbyte*)act + b * 32);
            acc += Vector128.ConvertToSingle(s) * Vector128.Create(H(ht, blk) * da[b]);
        }
        return Vector128.Sum(acc);
    }

    internal static void Q4_0V128Multi(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        for (int t = 0; t < nTok; t++) y[t * yStride] = Q4_0V128(row, act + t * actStride, n);
    }

    internal static void Q8_0V128Multi(byte* row, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        for (int t = 0; t < nTok; t++) y[t * yStride] = Q8_0V128(row, act + t * actStride, n);
    }
}
