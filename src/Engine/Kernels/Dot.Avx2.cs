using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// AVX2 float-domain kernels for the 4/6-bit formats: unpack 8 quants at a time to int32 → float and FMA against x,
/// keeping per-block scales as vector multipliers (no horizontal sum per block). Integer-domain kernels against
/// Q8-quantized activations are issue 5; these keep activations in float so results match the scalar reference.
/// </summary>
public static unsafe partial class Dot
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> U8(Vector128<byte> v) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(v)); // low 8 bytes

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Hi8(Vector128<byte> v) => Sse2.ShiftRightLogical128BitLane(v, 8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Nibble(Vector128<byte> v, int shift) =>
        (shift == 0 ? v : Vector128.ShiftRightLogical(v.AsUInt16(), 4).AsByte()) & Vector128.Create((byte)0x0F);

    private static float Q4_0Avx2(byte* row, float* x, int n)
    {
        var acc = Vector256<float>.Zero;
        var eight = Vector256.Create(8f);
        for (int b = 0; b < n / 32; b++)
        {
            byte* blk = row + b * 18;
            float* xb = x + b * 32;
            var v = Vector128.Load(blk + 2);
            Vector128<byte> lo = Nibble(v, 0), hi = Nibble(v, 4);
            var s = (U8(lo) - eight) * Vector256.Load(xb);
            s = Fma.MultiplyAdd(U8(Hi8(lo)) - eight, Vector256.Load(xb + 8), s);
            s = Fma.MultiplyAdd(U8(hi) - eight, Vector256.Load(xb + 16), s);
            s = Fma.MultiplyAdd(U8(Hi8(hi)) - eight, Vector256.Load(xb + 24), s);
            acc = Fma.MultiplyAdd(Vector256.Create(Quants.HalfToFloat(Unsafe.ReadUnaligned<ushort>(blk))), s, acc);
        }
        return Vector256.Sum(acc);
    }

    private static float Q4_KAvx2(byte* row, float* x, int n)
    {
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = row + i * 144;
            float d = Quants.HalfToFloat(Unsafe.ReadUnaligned<ushort>(blk));
            float dmin = Quants.HalfToFloat(Unsafe.ReadUnaligned<ushort>(blk + 2));
            byte* scales = blk + 4;
            byte* qs = blk + 16;
            float* xb = x + i * 256;
            for (int p = 0; p < 4; p++)
            {
                Quants.ScaleMinK4(2 * p, scales, out int sc1, out int m1);
                Quants.ScaleMinK4(2 * p + 1, scales, out int sc2, out int m2);
                var v0 = Vector128.Load(qs + 32 * p);
                var v1 = Vector128.Load(qs + 32 * p + 16);
                float* x1 = xb + 64 * p;
                float* x2 = x1 + 32;
                Vector256<float> a0 = Vector256.Load(x1), a1 = Vector256.Load(x1 + 8), a2 = Vector256.Load(x1 + 16), a3 = Vector256.Load(x1 + 24);
                Vector256<float> b0 = Vector256.Load(x2), b1 = Vector256.Load(x2 + 8), b2 = Vector256.Load(x2 + 16), b3 = Vector256.Load(x2 + 24);
                Vector128<byte> l0 = Nibble(v0, 0), l1 = Nibble(v1, 0), h0 = Nibble(v0, 4), h1 = Nibble(v1, 4);
                var q1 = U8(l0) * a0;
                q1 = Fma.MultiplyAdd(U8(Hi8(l0)), a1, q1);
                q1 = Fma.MultiplyAdd(U8(l1), a2, q1);
                q1 = Fma.MultiplyAdd(U8(Hi8(l1)), a3, q1);
                var q2 = U8(h0) * b0;
                q2 = Fma.MultiplyAdd(U8(Hi8(h0)), b1, q2);
                q2 = Fma.MultiplyAdd(U8(h1), b2, q2);
                q2 = Fma.MultiplyAdd(U8(Hi8(h1)), b3, q2);
                acc = Fma.MultiplyAdd(Vector256.Create(d * sc1), q1, acc);
                acc = Fma.MultiplyAdd(Vector256.Create(d * sc2), q2, acc);
                acc = Fma.MultiplyAdd(Vector256.Create(-dmin * m1), (a0 + a1) + (a2 + a3), acc);
                acc = Fma.MultiplyAdd(Vector256.Create(-dmin * m2), (b0 + b1) + (b2 + b3), acc);
            }
        }
        return Vector256.Sum(acc);
    }

    private static float Q6_KAvx2(byte* row, float* x, int n)
    {
        var acc = Vector256<float>.Zero;
        var m32 = Vector256.Create(32f);
        var low4 = Vector128.Create((byte)0x0F);
        var bits45 = Vector128.Create((byte)0x30);
        for (int i = 0; i < n / 256; i++)
        {
            byte* blk = row + i * 210;
            float d = Quants.HalfToFloat(Unsafe.ReadUnaligned<ushort>(blk + 208));
            for (int half = 0; half < 2; half++)
            {
                byte* ql = blk + 64 * half;
                byte* qh = blk + 128 + 32 * half;
                sbyte* sc = (sbyte*)(blk + 192) + 8 * half;
                float* y = x + i * 256 + 128 * half;
                for (int l0 = 0; l0 < 32; l0 += 16)
                {
                    int s = l0 / 16;
                    var a = Vector128.Load(ql + l0);
                    var b = Vector128.Load(ql + 32 + l0);
                    var h = Vector128.Load(qh + l0);
                    var q1 = (a & low4) | (Vector128.ShiftLeft(h.AsUInt16(), 4).AsByte() & bits45);
                    var q2 = (b & low4) | (Vector128.ShiftLeft(h.AsUInt16(), 2).AsByte() & bits45);
                    var q3 = Nibble(a, 4) | (h & bits45);
                    var q4 = Nibble(b, 4) | (Vector128.ShiftRightLogical(h.AsUInt16(), 2).AsByte() & bits45);
                    acc = Fma.MultiplyAdd(Vector256.Create(d * sc[s]), Q16(q1, y + l0, m32), acc);
                    acc = Fma.MultiplyAdd(Vector256.Create(d * sc[s + 2]), Q16(q2, y + 32 + l0, m32), acc);
                    acc = Fma.MultiplyAdd(Vector256.Create(d * sc[s + 4]), Q16(q3, y + 64 + l0, m32), acc);
                    acc = Fma.MultiplyAdd(Vector256.Create(d * sc[s + 6]), Q16(q4, y + 96 + l0, m32), acc);
                }
            }
        }
        return Vector256.Sum(acc);
    }

    /// <summary>Σ (q[j] − 32)·x[j] over 16 unsigned quants, as a vector of partial sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q16(Vector128<byte> q, float* x, Vector256<float> m32) =>
        Fma.MultiplyAdd(U8(Hi8(q)) - m32, Vector256.Load(x + 8), (U8(q) - m32) * Vector256.Load(x));
}
