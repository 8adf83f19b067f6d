using TtEngine.Kernels;
using TtEngine.Tensors;

namespace TtEngine.Tests;

public unsafe class QuantsTests
{
    private static float[] Decode(GgmlType t, byte[] bytes) => Quants.Dequantize(t, bytes, GgmlTypeInfo.BlockElements(t) * (bytes.Length / GgmlTypeInfo.BlockBytes(t)));

    private static void H(byte[] b, int at, ushort half) => BitConverter.GetBytes(half).CopyTo(b, at);

    [Fact]
    public void F16AndBF16_KnownBits()
    {
        Assert.Equal([1f, -2f, 65504f], Quants.Dequantize(GgmlType.F16, new byte[] { 0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B }, 3));
        Assert.Equal([1f, -3f], Quants.Dequantize(GgmlType.BF16, new byte[] { 0x80, 0x3F, 0x40, 0xC0 }, 2));
        Assert.Equal((ushort)0x3F80, Quants.FloatToBF16(1f));
        Assert.Equal((ushort)0x3C00, Quants.FloatToHalf(1f));
    }

    [Fact]
    public void Q8_0_KnownBlock()
    {
        var b = new byte[34];
        H(b, 0, 0x3800); // d = 0.5
        b[2] = 1; b[3] = unchecked((byte)-2); b[33] = 127;
        float[] y = Decode(GgmlType.Q8_0, b);
        Assert.Equal(0.5f, y[0]);
        Assert.Equal(-1f, y[1]);
        Assert.Equal(0f, y[2]);
        Assert.Equal(63.5f, y[31]);
    }

    [Fact]
    public void Q4_0_KnownBlock()
    {
        var b = new byte[18];
        H(b, 0, 0x4000); // d = 2
        for (int j = 0; j < 16; j++) b[2 + j] = 0x88; // q = 8 → 0
        b[2] = 0x9A; // element 0: (10-8)*2 = 4, element 16: (9-8)*2 = 2
        b[3] = 0x08; // element 1: 0, element 17: (0-8)*2 = -16
        float[] y = Decode(GgmlType.Q4_0, b);
        Assert.Equal(4f, y[0]);
        Assert.Equal(2f, y[16]);
        Assert.Equal(0f, y[1]);
        Assert.Equal(-16f, y[17]);
        Assert.Equal(0f, y[31]);
    }

    [Fact]
    public void Q4_1_KnownBlock()
    {
        var b = new byte[20];
        H(b, 0, 0x3C00); // d = 1
        H(b, 2, 0xBC00); // m = -1
        b[4 + 1] = 0x5F; // element 1: 15*1-1 = 14, element 17: 5-1 = 4
        float[] y = Decode(GgmlType.Q4_1, b);
        Assert.Equal(14f, y[1]);
        Assert.Equal(4f, y[17]);
        Assert.Equal(-1f, y[0]);
    }

    [Fact]
    public void Q5_0_KnownBlock()
    {
        var b = new byte[22];
        H(b, 0, 0x3C00); // d = 1
        BitConverter.GetBytes(0x00010001u).CopyTo(b, 2); // 5th bit of elements 0 and 16
        b[6] = 0x21; // element 0: (1|16)-16 = 1; element 16: (2|16)-16 = 2
        float[] y = Decode(GgmlType.Q5_0, b);
        Assert.Equal(1f, y[0]);
        Assert.Equal(2f, y[16]);
        Assert.Equal(-16f, y[1]);
        Assert.Equal(-16f, y[17]);
    }

    [Fact]
    public void Q5_1_KnownBlock()
    {
        var b = new byte[24];
        H(b, 0, 0x3800); // d = 0.5
        H(b, 2, 0x4000); // m = 2
        BitConverter.GetBytes(0x80000000u).CopyTo(b, 4); // 5th bit of element 31
        b[8 + 15] = 0xF0; // element 31: (15|16)=31 → 31*0.5+2 = 17.5; element 15: 0 → 2
        float[] y = Decode(GgmlType.Q5_1, b);
        Assert.Equal(17.5f, y[31]);
        Assert.Equal(2f, y[15]);
    }

    [Fact]
    public void Q4_K_KnownBlock()
    {
        var b = new byte[144];
        H(b, 0, 0x3C00); // d = 1
        H(b, 2, 0x3800); // dmin = 0.5
        // sub-block 0: sc=2, m=4 ; sub-block 5: sc=33 (0b10_0001), m=17 (0b01_0001)
        b[4 + 0] = 2;
        b[4 + 4] = 4;
        b[4 + 9] = 0x11;        // low nibbles of sc5 and m5
        b[4 + 1] = 2 << 6;      // top bits of sc5 in scales[1]
        b[4 + 5] = 1 << 6;      // top bits of m5 in scales[5]
        b[16 + 0] = 0x37;       // element 0 (sub 0, low nibble 7); element 32 (sub 1, high nibble 3)
        b[16 + 64] = 0xA0;      // element 160 (sub 5, high nibble 10); element 128 (sub 4, low 0)
        float[] y = Decode(GgmlType.Q4_K, b);
        Assert.Equal(1 * 2 * 7 - 0.5f * 4, y[0]);
        Assert.Equal(-2f, y[1]);
        Assert.Equal(0f, y[32]);          // sub-block 1 has sc = m = 0 (scales[1] & 63 == 0)
        Assert.Equal(33 * 10 - 0.5f * 17, y[160]);
        Assert.Equal(-8.5f, y[161]);
        Assert.Equal(0f, y[128]);
    }

    [Fact]
    public void Q5_K_KnownBlock()
    {
        var b = new byte[176];
        H(b, 0, 0x3C00); // d = 1
        H(b, 2, 0x3C00); // dmin = 1
        b[4 + 0] = 1;   // sub 0 sc = 1
        b[4 + 4] = 3;   // sub 0 m = 3
        b[4 + 2] = 1;   // sub 2 sc = 1, m = 0
        b[16 + 0] = 0x05; // qh[0]: bit0 → element 0 high bit; bit2 → element 64 high bit
        b[48 + 0] = 0x05; // ql[0] low nibble 5 → element 0
        float[] y = Decode(GgmlType.Q5_K, b);
        Assert.Equal(1 * (5 + 16) - 3f, y[0]);
        Assert.Equal(-3f, y[1]);
        Assert.Equal(16f, y[64]);
    }

    [Fact]
    public void Q6_K_KnownBlock()
    {
        var b = new byte[210];
        b[192 + 0] = 4;                    // scale of elements 0..15
        b[192 + 2] = unchecked((byte)-2);  // scale of elements 32..47
        b[192 + 4] = 1;                    // scale of elements 64..79
        H(b, 208, 0x3400);                 // d = 0.25
        b[0] = 0x21;   // ql[0]: element 0 low nibble 1, element 64 high nibble 2
        b[128] = 0x06; // qh[0]: element 0 high bits 2, element 32 high bits 1, element 64 high bits 0
        float[] y = Decode(GgmlType.Q6_K, b);
        Assert.Equal(0.25f * 4 * ((1 | (2 << 4)) - 32), y[0]);   // 1
        Assert.Equal(0.25f * -2 * ((0 | (1 << 4)) - 32), y[32]); // 8
        Assert.Equal(0.25f * 1 * (2 - 32), y[64]);               // -7.5
        Assert.Equal(0.25f * 4 * -32, y[1]);                     // -32
    }

    public static TheoryData<GgmlType, double> ErrorBounds => new()
    {
        // RMSE bounds for uniform data in [-2, 2]: about step/sqrt(12) with step = range / levels, plus scale rounding
        { GgmlType.F32, 0 },
        { GgmlType.F16, 0.001 },
        { GgmlType.BF16, 0.006 },
        { GgmlType.Q8_0, 0.006 },
        { GgmlType.Q4_0, 0.10 },
        { GgmlType.Q4_1, 0.10 },
        { GgmlType.Q5_0, 0.05 },
        { GgmlType.Q5_1, 0.05 },
        { GgmlType.Q4_K, 0.10 },
        { GgmlType.Q5_K, 0.05 },
        { GgmlType.Q6_K, 0.025 },
    };

    [Theory]
    [MemberData(nameof(ErrorBounds))]
    public void RoundTrip_WithinBound(GgmlType type, double rmseBound)
    {
        var rng = new Random((int)type + 7);
        float[] x = new float[4096];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
        x[100] = 0; x[513] = 2f; x[514] = -2f;
        byte[] q = Quants.Quantize(type, x);
        Assert.Equal(GgmlTypeInfo.RowBytes(type, x.Length), q.Length);
        float[] y = Quants.Dequantize(type, q, x.Length);
        double se = 0, maxErr = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double e = Math.Abs((double)x[i] - y[i]);
            se += e * e;
            maxErr = Math.Max(maxErr, e);
        }
        double rmse = Math.Sqrt(se / x.Length);
        Assert.True(rmse <= rmseBound, $"{type}: rmse {rmse} > {rmseBound}");
        Assert.True(maxErr <= Math.Max(4 * rmseBound, 1e-30), $"{type}: max error {maxErr}");
        // a zero block encodes to exact zeros
        float[] z = Quants.Dequantize(type, Quants.Quantize(type, new float[256]), 256);
        Assert.All(z, v => Assert.Equal(0f, v));
    }

    [Theory]
    [MemberData(nameof(ErrorBounds))]
    public void SimdDot_MatchesScalarReference(GgmlType type, double unused)
    {
        _ = unused;
        var rng = new Random(42 + (int)type);
        foreach (int n in new[] { 256, 768, 4096 })
        {
            float[] w = new float[n], x = new float[n];
            for (int i = 0; i < n; i++) { w[i] = (float)(rng.NextDouble() * 2 - 1); x[i] = (float)(rng.NextDouble() * 2 - 1); }
            byte[] q = Quants.Quantize(type, w);
            fixed (byte* pq = q) fixed (float* px = x)
            {
                double reference = Dot.Reference(type, pq, px, n);
                float simd = Dot.Get(type)(pq, px, n);
                Assert.True(Math.Abs(simd - reference) <= 1e-4 * Math.Sqrt(n), $"{type} n={n}: {simd} vs {reference}");
            }
        }
    }

    [Fact]
    public void F32Dot_OddLengths()
    {
        for (int n = 1; n < 40; n++)
        {
            float[] a = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
            fixed (float* p = a) Assert.Equal(Enumerable.Range(0, n).Sum(i => (double)i * i), Dot.F32(p, p, n), 3);
        }
    }
}
