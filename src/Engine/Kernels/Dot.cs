using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// Row · vector dot products for every supported weight type. <see cref="Get"/> picks the SIMD kernel for a type once
/// (at model load); <see cref="Reference"/> is the plain scalar definition (decode the row, multiply-add in order) that the
/// tests hold the SIMD kernels to.
/// </summary>
public static unsafe partial class Dot
{
    /// <summary>Signature of a row kernel: (row bytes, x[n], n) → Σ row[i]·x[i].</summary>
    public delegate float RowDot(byte* row, float* x, int n);

    /// <summary>Function pointer to the fastest kernel for <paramref name="type"/>.</summary>
    public static delegate*<byte*, float*, int, float> Get(GgmlType type) => type switch
    {
        GgmlType.F32 => &F32,
        GgmlType.F16 => &F16,
        GgmlType.BF16 => &BF16,
        GgmlType.Q8_0 => &Q8_0,
        GgmlType.Q4_0 => Avx2.IsSupported && Fma.IsSupported ? &Q4_0Avx2 : &Blocked<Q4_0Block>,
        GgmlType.Q4_1 => &Blocked<Q4_1Block>,
        GgmlType.Q5_0 => &Blocked<Q5_0Block>,
        GgmlType.Q5_1 => &Blocked<Q5_1Block>,
        GgmlType.Q4_K => Avx2.IsSupported && Fma.IsSupported ? &Q4_KAvx2 : &Blocked<Q4_KBlock>,
        GgmlType.Q5_K => &Blocked<Q5_KBlock>,
        GgmlType.Q6_K => Avx2.IsSupported && Fma.IsSupported ? &Q6_KAvx2 : &Blocked<Q6_KBlock>,
        _ => throw new NotSupportedException($"GGML type {type} is not supported for matrix-vector products"),
    };

    /// <summary>Scalar reference: decode the whole row, then accumulate in order in float64.</summary>
    public static double Reference(GgmlType type, byte* row, float* x, int n)
    {
        var tmp = new float[n];
        fixed (float* t = tmp) Quants.Dequantize(type, row, t, n);
        double s = 0;
        for (int i = 0; i < n; i++) s += (double)tmp[i] * x[i];
        return s;
    }

    /// <summary>Σ a[i]·b[i] over floats, Vector256 with FMA when available, scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F32(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 16)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                acc0 = MulAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
                acc1 = MulAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), acc1);
            }
            if (i <= n - 8)
            {
                acc0 = MulAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
                i += 8;
            }
            sum = Vector256.Sum(acc0 + acc1);
        }
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    private static float F32(byte* row, float* x, int n) => F32((float*)row, x, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    private static float F16(byte* row, float* x, int n)
    {
        float* tmp = stackalloc float[256];
        ushort* h = (ushort*)row;
        float sum = 0;
        for (int i = 0; i < n; i += 256)
        {
            int m = Math.Min(256, n - i);
            for (int j = 0; j < m; j++) tmp[j] = Quants.HalfToFloat(h[i + j]);
            sum += F32(tmp, x + i, m);
        }
        return sum;
    }

    private static float BF16(byte* row, float* x, int n)
    {
        float* tmp = stackalloc float[256];
        ushort* h = (ushort*)row;
        float sum = 0;
        for (int i = 0; i < n; i += 256)
        {
            int m = Math.Min(256, n - i);
            for (int j = 0; j < m; j++) tmp[j] = Quants.BF16ToFloat(h[i + j]);
            sum += F32(tmp, x + i, m);
        }
        return sum;
    }

    private static float Q8_0(byte* row, float* x, int n)
    {
        Debug.Assert(n % 32 == 0);
        float sum = 0;
        float* tmp = stackalloc float[32];
        for (int b = 0; b < n / 32; b++)
        {
            byte* blk = row + b * 34;
            sbyte* q = (sbyte*)(blk + 2);
            float s;
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> acc = Vector256<float>.Zero;
                float* xb = x + b * 32;
                for (int k = 0; k < 32; k += 8)
                {
                    Vector256<int> qi = Vector256.WidenLower(Vector256.WidenLower(Vector128.Load(q + k).ToVector256Unsafe()));
                    acc = MulAdd(Vector256.ConvertToSingle(qi), Vector256.Load(xb + k), acc);
                }
                s = Vector256.Sum(acc);
            }
            else
            {
                s = 0;
                for (int k = 0; k < 32; k++) s += q[k] * x[b * 32 + k];
            }
            sum += Quants.HalfToFloat(Unsafe.ReadUnaligned<ushort>(blk)) * s;
        }
        return sum;
    }

    /// <summary>A block format: decode one block to floats.</summary>
    private interface IBlock
    {
        static abstract int Elements { get; }
        static abstract int Bytes { get; }
        static abstract void Decode(byte* block, float* y);
    }

    private struct Q4_0Block : IBlock
    {
        public static int Elements => 32;
        public static int Bytes => 18;
        public static void Decode(byte* b, float* y) => Quants.DequantQ4_0(b, y);
    }

    private struct Q4_1Block : IBlock
    {
        public static int Elements => 32;
        public static int Bytes => 20;
        public static void Decode(byte* b, float* y) => Quants.DequantQ4_1(b, y);
    }

    private struct Q5_0Block : IBlock
    {
        public static int Elements => 32;
        public static int Bytes => 22;
        public static void Decode(byte* b, float* y) => Quants.DequantQ5_0(b, y);
    }

    private struct Q5_1Block : IBlock
    {
        public static int Elements => 32;
        public static int Bytes => 24;
        public static void Decode(byte* b, float* y) => Quants.DequantQ5_1(b, y);
    }

    private struct Q4_KBlock : IBlock
    {
        public static int Elements => 256;
        public static int Bytes => 144;
        public static void Decode(byte* b, float* y) => Quants.DequantQ4_K(b, y);
    }

    private struct Q5_KBlock : IBlock
    {
        public static int Elements => 256;
        public static int Bytes => 176;
        public static void Decode(byte* b, float* y) => Quants.DequantQ5_K(b, y);
    }

    private struct Q6_KBlock : IBlock
    {
        public static int Elements => 256;
        public static int Bytes => 210;
        public static void Decode(byte* b, float* y) => Quants.DequantQ6_K(b, y);
    }

    /// <summary>Decode each block into a stack buffer, then a SIMD dot against x (correct first; issue 5 replaces with integer dots).</summary>
    private static float Blocked<T>(byte* row, float* x, int n) where T : struct, IBlock
    {
        Debug.Assert(n % T.Elements == 0);
        float* tmp = stackalloc float[256];
        float sum = 0;
        int nb = n / T.Elements;
        for (int b = 0; b < nb; b++)
        {
            T.Decode(row + (long)b * T.Bytes, tmp);
            sum += F32(tmp, x + b * T.Elements, T.Elements);
        }
        return sum;
    }
}
