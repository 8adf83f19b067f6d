using System.Runtime.CompilerServices;

namespace TtEngine.Tensors;

/// <summary>
/// Reference (scalar, plain) encoders and decoders for the GGML block formats the engine supports. Block layouts follow
/// ggml-common.h exactly; the quantizers are simple deterministic reference quantizers (not llama.cpp's search-based
/// ones) that produce valid blocks of each format. Row lengths must be multiples of the block size.
/// </summary>
public static unsafe class Quants
{
    /// <summary>The types this engine can decode, encode and multiply.</summary>
    public static ReadOnlySpan<GgmlType> Supported =>
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
        GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    /// <summary>True if the engine can use tensors of this type.</summary>
    public static bool IsSupported(GgmlType t)
    {
        foreach (GgmlType s in Supported) if (s == t) return true;
        return false;
    }

    private static readonly float[] HalfTable = BuildHalfTable();

    /// <summary>
    /// The same table in native memory, for hot kernels: read the pointer once per row into a local so native AOT does
    /// not re-check the class initialiser on every block.
    /// </summary>
    internal static readonly float* HalfTablePointer = BuildNativeHalfTable();

    private static float* BuildNativeHalfTable()
    {
        var p = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(65536 * 4, 64);
        for (int i = 0; i < 65536; i++) p[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        return p; // lives for the process
    }

    private static float[] BuildHalfTable()
    {
        var t = new float[65536];
        for (int i = 0; i < t.Length; i++) t[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        return t;
    }

    /// <summary>IEEE binary16 bits to float (table lookup).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfToFloat(ushort h) =>
        Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(HalfTable), h); // 65536 entries: any ushort is in range

    /// <summary>Float to IEEE binary16 bits (round to nearest even).</summary>
    public static ushort FloatToHalf(float f) => BitConverter.HalfToUInt16Bits((Half)f);

    /// <summary>BF16 bits to float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16ToFloat(ushort h) => BitConverter.Int32BitsToSingle(h << 16);

    /// <summary>Float to BF16 bits, round to nearest even (NaN kept quiet), as ggml_compute_fp32_to_bf16.</summary>
    public static ushort FloatToBF16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float H(byte* p) => HalfTable[Unsafe.ReadUnaligned<ushort>(p)];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WH(byte* p, float v) => Unsafe.WriteUnaligned(p, FloatToHalf(v));

    // ================================================================== decode

    /// <summary>Decodes <paramref name="n"/> elements of type <paramref name="type"/> from <paramref name="src"/> to floats.</summary>
    public static void Dequantize(GgmlType type, byte* src, float* dst, long n)
    {
        switch (type)
        {
            case GgmlType.F32: Buffer.MemoryCopy(src, dst, n * 4, n * 4); return;
            case GgmlType.F16: for (long i = 0; i < n; i++) dst[i] = HalfTable[((ushort*)src)[i]]; return;
            case GgmlType.BF16: for (long i = 0; i < n; i++) dst[i] = BF16ToFloat(((ushort*)src)[i]); return;
        }
        int qk = GgmlTypeInfo.BlockElements(type), bs = GgmlTypeInfo.BlockBytes(type);
        if (n % qk != 0) throw new ArgumentException($"{n} elements is not a multiple of the {type} block size {qk}", nameof(n));
        for (long b = 0; b < n / qk; b++)
        {
            byte* x = src + b * bs;
            float* y = dst + b * qk;
            switch (type)
            {
                case GgmlType.Q8_0: DequantQ8_0(x, y); break;
                case GgmlType.Q4_0: DequantQ4_0(x, y); break;
                case GgmlType.Q4_1: DequantQ4_1(x, y); break;
                case GgmlType.Q5_0: DequantQ5_0(x, y); break;
                case GgmlType.Q5_1: DequantQ5_1(x, y); break;
                case GgmlType.Q4_K: DequantQ4_K(x, y); break;
                case GgmlType.Q5_K: DequantQ5_K(x, y); break;
                case GgmlType.Q6_K: DequantQ6_K(x, y); break;
                default: throw new NotSupportedException($"GGML type {type} is not supported");
            }
        }
    }

    /// <summary>Decodes a managed buffer.</summary>
    public static float[] Dequantize(GgmlType type, ReadOnlySpan<byte> src, long n)
    {
        if (src.Length < GgmlTypeInfo.RowBytes(type, n)) throw new ArgumentException("source too short", nameof(src));
        var r = new float[n];
        fixed (byte* s = src) fixed (float* d = r) Dequantize(type, s, d, n);
        return r;
    }

    // block_q8_0 { half d; int8 qs[32]; }
    internal static void DequantQ8_0(byte* x, float* y)
    {
        float d = H(x);
        sbyte* q = (sbyte*)(x + 2);
        for (int j = 0; j < 32; j++) y[j] = q[j] * d;
    }

    // block_q4_0 { half d; uint8 qs[16]; }  low nibbles → elements 0..15, high → 16..31, value (q-8)*d
    internal static void DequantQ4_0(byte* x, float* y)
    {
        float d = H(x);
        byte* q = x + 2;
        for (int j = 0; j < 16; j++)
        {
            y[j] = ((q[j] & 0xF) - 8) * d;
            y[j + 16] = ((q[j] >> 4) - 8) * d;
        }
    }

    // block_q4_1 { half d; half m; uint8 qs[16]; } value q*d + m
    internal static void DequantQ4_1(byte* x, float* y)
    {
        float d = H(x), m = H(x + 2);
        byte* q = x + 4;
        for (int j = 0; j < 16; j++)
        {
            y[j] = (q[j] & 0xF) * d + m;
            y[j + 16] = (q[j] >> 4) * d + m;
        }
    }

    // block_q5_0 { half d; uint8 qh[4]; uint8 qs[16]; } 5th bit of element j in qh bit j; value (q-16)*d
    internal static void DequantQ5_0(byte* x, float* y)
    {
        float d = H(x);
        uint qh = Unsafe.ReadUnaligned<uint>(x + 2);
        byte* q = x + 6;
        for (int j = 0; j < 16; j++)
        {
            int h0 = (int)((qh >> j) << 4) & 0x10;
            int h1 = (int)(qh >> (j + 12)) & 0x10;
            y[j] = (((q[j] & 0xF) | h0) - 16) * d;
            y[j + 16] = (((q[j] >> 4) | h1) - 16) * d;
        }
    }

    // block_q5_1 { half d; half m; uint8 qh[4]; uint8 qs[16]; } value q*d + m
    internal static void DequantQ5_1(byte* x, float* y)
    {
        float d = H(x), m = H(x + 2);
        uint qh = Unsafe.ReadUnaligned<uint>(x + 4);
        byte* q = x + 8;
        for (int j = 0; j < 16; j++)
        {
            int h0 = (int)((qh >> j) << 4) & 0x10;
            int h1 = (int)(qh >> (j + 12)) & 0x10;
            y[j] = ((q[j] & 0xF) | h0) * d + m;
            y[j + 16] = ((q[j] >> 4) | h1) * d + m;
        }
    }

    /// <summary>6-bit scale and min of sub-block j from the 12 packed bytes (ggml get_scale_min_k4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ScaleMinK4(int j, byte* q, out int sc, out int m)
    {
        if (j < 4)
        {
            sc = q[j] & 63;
            m = q[j + 4] & 63;
        }
        else
        {
            sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    // block_q4_K { half d; half dmin; uint8 scales[12]; uint8 qs[128]; } 8 sub-blocks of 32: value d*sc*q - dmin*m
    internal static void DequantQ4_K(byte* x, float* y)
    {
        float d = H(x), dmin = H(x + 2);
        byte* scales = x + 4;
        byte* q = x + 16;
        for (int j = 0, s = 0; j < 256; j += 64, s += 2)
        {
            ScaleMinK4(s, scales, out int sc1, out int m1);
            ScaleMinK4(s + 1, scales, out int sc2, out int m2);
            float d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
            for (int l = 0; l < 32; l++) y[j + l] = d1 * (q[l] & 0xF) - mm1;
            for (int l = 0; l < 32; l++) y[j + 32 + l] = d2 * (q[l] >> 4) - mm2;
            q += 32;
        }
    }

    // block_q5_K { half d; half dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]; }
    internal static void DequantQ5_K(byte* x, float* y)
    {
        float d = H(x), dmin = H(x + 2);
        byte* scales = x + 4;
        byte* qh = x + 16;
        byte* ql = x + 48;
        int u1 = 1, u2 = 2;
        for (int j = 0, s = 0; j < 256; j += 64, s += 2)
        {
            ScaleMinK4(s, scales, out int sc1, out int m1);
            ScaleMinK4(s + 1, scales, out int sc2, out int m2);
            float d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
            for (int l = 0; l < 32; l++) y[j + l] = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - mm1;
            for (int l = 0; l < 32; l++) y[j + 32 + l] = d2 * ((ql[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - mm2;
            ql += 32;
            u1 <<= 2;
            u2 <<= 2;
        }
    }

    // block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d; } 16 sub-blocks of 16: value d*sc*(q-32)
    internal static void DequantQ6_K(byte* x, float* y)
    {
        byte* ql = x;
        byte* qh = x + 128;
        sbyte* sc = (sbyte*)(x + 192);
        float d = H(x + 208);
        for (int n = 0; n < 256; n += 128)
        {
            for (int l = 0; l < 32; l++)
            {
                int s = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[n + l] = d * sc[s] * q1;
                y[n + l + 32] = d * sc[s + 2] * q2;
                y[n + l + 64] = d * sc[s + 4] * q3;
                y[n + l + 96] = d * sc[s + 6] * q4;
            }
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }

    // ================================================================== encode (reference)

    /// <summary>Encodes <paramref name="n"/> floats as <paramref name="type"/> into <paramref name="dst"/> (RowBytes(type, n) bytes).</summary>
    public static void Quantize(GgmlType type, float* src, byte* dst, long n)
    {
        switch (type)
        {
            case GgmlType.F32: Buffer.MemoryCopy(src, dst, n * 4, n * 4); return;
            case GgmlType.F16: for (long i = 0; i < n; i++) ((ushort*)dst)[i] = FloatToHalf(src[i]); return;
            case GgmlType.BF16: for (long i = 0; i < n; i++) ((ushort*)dst)[i] = FloatToBF16(src[i]); return;
        }
        int qk = GgmlTypeInfo.BlockElements(type), bs = GgmlTypeInfo.BlockBytes(type);
        if (n % qk != 0) throw new ArgumentException($"{n} elements is not a multiple of the {type} block size {qk}", nameof(n));
        for (long b = 0; b < n / qk; b++)
        {
            float* x = src + b * qk;
            byte* y = dst + b * bs;
            switch (type)
            {
                case GgmlType.Q8_0: QuantQ8_0(x, y); break;
                case GgmlType.Q4_0: QuantQ4_0(x, y); break;
                case GgmlType.Q4_1: QuantQ4_1(x, y); break;
                case GgmlType.Q5_0: QuantQ5_0(x, y); break;
                case GgmlType.Q5_1: QuantQ5_1(x, y); break;
                case GgmlType.Q4_K: QuantQxK(x, y, 15); break;
                case GgmlType.Q5_K: QuantQxK(x, y, 31); break;
                case GgmlType.Q6_K: QuantQ6_K(x, y); break;
                default: throw new NotSupportedException($"GGML type {type} is not supported");
            }
        }
    }

    /// <summary>Encodes a managed buffer.</summary>
    public static byte[] Quantize(GgmlType type, ReadOnlySpan<float> src)
    {
        var r = new byte[GgmlTypeInfo.RowBytes(type, src.Length)];
        fixed (float* s = src) fixed (byte* d = r) Quantize(type, s, d, src.Length);
        return r;
    }

    private static void QuantQ8_0(float* x, byte* y)
    {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
        float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
        WH(y, d);
        for (int j = 0; j < 32; j++) ((sbyte*)(y + 2))[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
    }

    private static void QuantQ4_0(float* x, byte* y)
    {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
            if (MathF.Abs(x[j]) > amax) { amax = MathF.Abs(x[j]); max = x[j]; }
        float d = max / -8f, id = d != 0 ? 1f / d : 0f;
        WH(y, d);
        for (int j = 0; j < 16; j++)
        {
            int a = Math.Min(15, (int)(x[j] * id + 8.5f));
            int b = Math.Min(15, (int)(x[j + 16] * id + 8.5f));
            y[2 + j] = (byte)(a | (b << 4));
        }
    }

    private static void MinMax(float* x, int n, out float min, out float max)
    {
        min = float.MaxValue;
        max = float.MinValue;
        for (int j = 0; j < n; j++)
        {
            min = MathF.Min(min, x[j]);
            max = MathF.Max(max, x[j]);
        }
    }

    private static void QuantQ4_1(float* x, byte* y)
    {
        MinMax(x, 32, out float min, out float max);
        float d = (max - min) / 15f, id = d != 0 ? 1f / d : 0f;
        WH(y, d);
        WH(y + 2, min);
        for (int j = 0; j < 16; j++)
        {
            int a = Math.Min(15, (int)((x[j] - min) * id + 0.5f));
            int b = Math.Min(15, (int)((x[j + 16] - min) * id + 0.5f));
            y[4 + j] = (byte)(a | (b << 4));
        }
    }

    private static void QuantQ5_0(float* x, byte* y)
    {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
            if (MathF.Abs(x[j]) > amax) { amax = MathF.Abs(x[j]); max = x[j]; }
        float d = max / -16f, id = d != 0 ? 1f / d : 0f;
        WH(y, d);
        uint qh = 0;
        for (int j = 0; j < 16; j++)
        {
            int a = Math.Min(31, (int)(x[j] * id + 16.5f));
            int b = Math.Min(31, (int)(x[j + 16] * id + 16.5f));
            y[6 + j] = (byte)((a & 0xF) | ((b & 0xF) << 4));
            qh |= (uint)((a & 0x10) >> 4) << j;
            qh |= (uint)((b & 0x10) >> 4) << (j + 16);
        }
        Unsafe.WriteUnaligned(y + 2, qh);
    }

    private static void QuantQ5_1(float* x, byte* y)
    {
        MinMax(x, 32, out float min, out float max);
        float d = (max - min) / 31f, id = d != 0 ? 1f / d : 0f;
        WH(y, d);
        WH(y + 2, min);
        uint qh = 0;
        for (int j = 0; j < 16; j++)
        {
            int a = Math.Min(31, (int)((x[j] - min) * id + 0.5f));
            int b = Math.Min(31, (int)((x[j + 16] - min) * id + 0.5f));
            y[8 + j] = (byte)((a & 0xF) | ((b & 0xF) << 4));
            qh |= (uint)((a & 0x10) >> 4) << j;
            qh |= (uint)((b & 0x10) >> 4) << (j + 16);
        }
        Unsafe.WriteUnaligned(y + 4, qh);
    }

    /// <summary>Q4_K (maxQ 15) and Q5_K (maxQ 31): per 32-element sub-block an affine scale/min, both 6-bit over fp16 super-scales.</summary>
    private static void QuantQxK(float* x, byte* y, int maxQ)
    {
        Span<float> scale = stackalloc float[8];
        Span<float> mins = stackalloc float[8];
        float maxScale = 0, maxMin = 0;
        for (int s = 0; s < 8; s++)
        {
            MinMax(x + 32 * s, 32, out float mn, out float mx);
            mn = MathF.Min(mn, 0);
            scale[s] = (mx - mn) / maxQ;
            mins[s] = -mn;
            maxScale = MathF.Max(maxScale, scale[s]);
            maxMin = MathF.Max(maxMin, mins[s]);
        }
        float d = HalfToFloat(FloatToHalf(maxScale / 63f));
        float dmin = HalfToFloat(FloatToHalf(maxMin / 63f));
        WH(y, d);
        WH(y + 2, dmin);
        Span<int> sc = stackalloc int[8];
        Span<int> m = stackalloc int[8];
        for (int s = 0; s < 8; s++)
        {
            // round the scale up so the top of the range still fits after 6-bit rounding
            sc[s] = d > 0 ? Math.Clamp((int)MathF.Ceiling(scale[s] / d - 1e-4f), 0, 63) : 0;
            m[s] = dmin > 0 ? Math.Clamp((int)MathF.Round(mins[s] / dmin), 0, 63) : 0;
        }
        byte* packed = y + 4;
        for (int j = 0; j < 4; j++)
        {
            packed[j] = (byte)(sc[j] | ((sc[j + 4] >> 4) << 6));
            packed[j + 4] = (byte)(m[j] | ((m[j + 4] >> 4) << 6));
            packed[j + 8] = (byte)((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
        }
        Span<byte> q = stackalloc byte[256];
        for (int s = 0; s < 8; s++)
        {
            float ds = d * sc[s], dm = dmin * m[s];
            for (int l = 0; l < 32; l++)
                q[32 * s + l] = ds > 0 ? (byte)Math.Clamp((int)MathF.Round((x[32 * s + l] + dm) / ds), 0, maxQ) : (byte)0;
        }
        if (maxQ == 15)
        {
            byte* qs = y + 16;
            for (int p = 0; p < 4; p++)
                for (int l = 0; l < 32; l++)
                    qs[32 * p + l] = (byte)(q[64 * p + l] | (q[64 * p + 32 + l] << 4));
        }
        else
        {
            byte* qh = y + 16;
            byte* ql = y + 48;
            for (int l = 0; l < 32; l++) qh[l] = 0;
            for (int p = 0; p < 4; p++)
            {
                for (int l = 0; l < 32; l++)
                {
                    int lo = q[64 * p + l], hi = q[64 * p + 32 + l];
                    ql[32 * p + l] = (byte)((lo & 0xF) | ((hi & 0xF) << 4));
                    if (lo > 15) qh[l] |= (byte)(1 << (2 * p));
                    if (hi > 15) qh[l] |= (byte)(1 << (2 * p + 1));
                }
            }
        }
    }

    /// <summary>Q6_K: 16 sub-blocks of 16 with int8 scales over one fp16 super-scale; quants in -32..31.</summary>
    private static void QuantQ6_K(float* x, byte* y)
    {
        Span<float> scale = stackalloc float[16];
        float maxAbsScale = 0;
        for (int s = 0; s < 16; s++)
        {
            float amax = 0, max = 0;
            for (int l = 0; l < 16; l++)
                if (MathF.Abs(x[16 * s + l]) > amax) { amax = MathF.Abs(x[16 * s + l]); max = x[16 * s + l]; }
            scale[s] = max / -32f; // the extreme value maps to -32 exactly, as ggml's make_qx_quants does
            maxAbsScale = MathF.Max(maxAbsScale, MathF.Abs(scale[s]));
        }
        float d = HalfToFloat(FloatToHalf(maxAbsScale / 127f));
        sbyte* sc = (sbyte*)(y + 192);
        Span<byte> q = stackalloc byte[256];
        for (int s = 0; s < 16; s++)
        {
            sc[s] = d > 0 ? (sbyte)Math.Clamp((int)MathF.Round(scale[s] / d), -127, 127) : (sbyte)0;
            float ds = d * sc[s];
            for (int l = 0; l < 16; l++)
                q[16 * s + l] = ds != 0 ? (byte)(Math.Clamp((int)MathF.Round(x[16 * s + l] / ds), -32, 31) + 32) : (byte)32;
        }
        byte* ql = y;
        byte* qh = y + 128;
        for (int n = 0; n < 2; n++)
        {
            for (int l = 0; l < 32; l++)
            {
                int q1 = q[128 * n + l], q2 = q[128 * n + l + 32], q3 = q[128 * n + l + 64], q4 = q[128 * n + l + 96];
                ql[64 * n + l] = (byte)((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[64 * n + l + 32] = (byte)((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[32 * n + l] = (byte)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
        WH(y + 208, d);
    }
}
