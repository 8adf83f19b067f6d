using TtEngine.Kernels;
using TtEngine.Model;
using TtEngine.Tensors;

namespace TtEngine.Tests;

/// <summary>Integer-domain kernels against their scalar reference; activation quantizer SIMD vs scalar.</summary>
public unsafe class QDotTests
{
    public static TheoryData<GgmlType> IntegerTypes() => new() { GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
        GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1 };

    private static float[] RandomFloats(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale * (i % 37 == 0 ? 4 : 1);
        return x;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Q8Act_Simd_EqualsReference_Bytewise(bool superBlocks)
    {
        const int n = 1024;
        int per = superBlocks ? 256 : 32; // elements per scale
        float[] x = RandomFloats(n, 1, 3f);
        x[5] = 0; x[64..96].AsSpan().Clear(); // an all-zero block
        x[768..].AsSpan().Clear(); // an all-zero super-block
        var a = new byte[Q8Act.RowBytes(n)];
        var b = new byte[Q8Act.RowBytes(n)];
        fixed (float* px = x) fixed (byte* pa = a) fixed (byte* pb = b)
        {
            Q8Act.Quantize(px, pa, n, superBlocks);
            Q8Act.QuantizeReference(px, pb, n, superBlocks);
            float* d = Q8Act.Scales(pb, n);
            for (int i = 0; i < n; i++)
            {
                Assert.True(MathF.Abs(((sbyte*)pb)[i] * d[i / 32] - x[i]) <= d[i / 32] * 0.5f + 1e-6f);
                Assert.Equal(d[i / per * per / 32], d[i / 32]); // one scale per 32 or per 256 elements
            }
            float amax = x.AsSpan(0, per).ToArray().Max(MathF.Abs);
            Assert.Equal(amax / 127f, d[0]);
            int* h = Q8Act.HalfSums(pb, n), pairs = Q8Act.PairSums(pb, n);
            var whole = new int[n / 32];
            for (int blk = 0; blk < n / 32; blk++)
            {
                int lo = 0, hi = 0;
                for (int j = 0; j < 16; j++) { lo += ((sbyte*)pb)[32 * blk + j]; hi += ((sbyte*)pb)[32 * blk + 16 + j]; }
                Assert.Equal(lo, (short)h[blk]);
                Assert.Equal(hi, h[blk] >> 16);
                Assert.Equal(d[blk] * (lo + hi), Q8Act.Sums(pb, n)[blk]);
                Assert.Equal(d[blk] * Q8Act.BitScale, Q8Act.BitScales(pb, n)[blk]);
                Assert.Equal(-8 * Q8Act.Sums(pb, n)[blk] * Q8Act.BitScale, Q8Act.BitOffsets(pb, n)[blk]);
                whole[blk] = lo + hi;
            }
            for (int k = 0; k < n / 64; k++)
            {
                Assert.Equal(whole[2 * k], (short)pairs[k]);
                Assert.Equal(whole[2 * k + 1], pairs[k] >> 16);
            }
        }
        Assert.Equal(b, a);
    }

    [Theory]
    [MemberData(nameof(IntegerTypes))]
    public void Kernel_MatchesScalarReference(GgmlType type)
    {
        var kernel = QDot.Get(type);
        if (kernel == null) return; // no AVX2 here: the float path is used and tested elsewhere
        foreach (int n in new[] { 256, 1024, 2816 })
        {
            byte[] w = Quants.Quantize(type, RandomFloats(n, n + (int)type, 0.05f));
            float[] x = RandomFloats(n, 7 * n);
            var act = new byte[Q8Act.RowBytes(n)];
            fixed (byte* pw = w) fixed (float* px = x) fixed (byte* pa = act)
            {
                Q8Act.Quantize(px, pa, n);
                double want = QDot.Reference(type, pw, pa, n);
                float got = kernel(pw, pa, n);
                double norm = 0;
                float[] wf = Quants.Dequantize(type, w, n);
                for (int i = 0; i < n; i++) norm += Math.Abs(wf[i] * x[i]);
                Assert.True(Math.Abs(got - want) <= 1e-5 * norm + 1e-6, $"{type} n={n}: {got} vs {want}");
                // and the quantized-domain result stays close to the float dot
                double exact = 0;
                for (int i = 0; i < n; i++) exact += (double)wf[i] * x[i];
                Assert.True(Math.Abs(got - exact) <= 2e-2 * norm, $"{type} n={n}: {got} vs float {exact}");
            }
        }
    }

    /// <summary>The integer kernel against the float-domain kernel it replaces (<see cref="Dot.Get"/>: dequantize + FMA).</summary>
    [Theory]
    [MemberData(nameof(IntegerTypes))]
    public void Kernel_MatchesFloatDomainDot(GgmlType type)
    {
        var kernel = QDot.Get(type);
        if (kernel == null) return;
        var dot = Dot.Get(type);
        foreach (int n in new[] { 256, 2816 })
        {
            byte[] w = Quants.Quantize(type, RandomFloats(n, 5 * n + (int)type, 0.05f));
            float[] x = RandomFloats(n, 11 * n);
            float[] wf = Quants.Dequantize(type, w, n);
            double norm = 0;
            for (int i = 0; i < n; i++) norm += Math.Abs(wf[i] * x[i]);
            var act = new byte[Q8Act.RowBytes(n)];
            fixed (byte* pw = w) fixed (float* px = x) fixed (byte* pa = act)
            {
                Q8Act.Quantize(px, pa, n);
                float got = kernel(pw, pa, n), want = dot(pw, px, n);
                Assert.True(Math.Abs(got - want) <= 2e-2 * norm, $"{type} n={n}: {got} vs float-domain {want}");
            }
        }
    }

    /// <summary>32-element formats with block counts that are not a multiple of 8 (the kernels' gather width).</summary>
    [Theory]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_1)]
    public void LegacyKernel_MatchesScalarReference_AnyBlockCount(GgmlType type)
    {
        var kernel = QDot.Get(type);
        if (kernel == null) return;
        foreach (int n in new[] { 32, 64, 96, 288, 416, 800 })
        {
            byte[] w = Quants.Quantize(type, RandomFloats(n, 3 * n + (int)type, 0.05f));
            float[] x = RandomFloats(n, 13 * n);
            var act = new byte[Q8Act.RowBytes(n)];
            float[] wf = Quants.Dequantize(type, w, n);
            double norm = 0;
            for (int i = 0; i < n; i++) norm += Math.Abs(wf[i] * x[i]);
            fixed (byte* pw = w) fixed (float* px = x) fixed (byte* pa = act)
            {
                Q8Act.Quantize(px, pa, n);
                double want = QDot.Reference(type, pw, pa, n);
                float got = kernel(pw, pa, n);
                Assert.True(Math.Abs(got - want) <= 1e-5 * norm + 1e-6, $"{type} n={n}: {got} vs {want}");
            }
        }
    }

    /// <summary>The portable 128-bit kernels (used without AVX2) against the scalar reference and the multi-token wrappers.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0)]
    public void Vector128Kernel_MatchesScalarReference(GgmlType type)
    {
        if (!System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated) return;
        delegate*<byte*, byte*, int, float> kernel = type == GgmlType.Q4_0 ? &QDot.Q4_0V128 : &QDot.Q8_0V128;
        delegate*<byte*, byte*, long, int, float*, long, int, void> multi = type == GgmlType.Q4_0 ? &QDot.Q4_0V128Multi : &QDot.Q8_0V128Multi;
        foreach (int n in new[] { 32, 256, 2816 })
        {
            float[] wf0 = RandomFloats(n, n + 3, 0.05f);
            byte[] w = Quants.Quantize(type, wf0);
            float[] wf = Quants.Dequantize(type, w, n);
            int stride = Q8Act.RowBytes(n);
            var act = new byte[2 * stride];
            var y = new float[2];
            fixed (byte* pw = w) fixed (byte* pa = act) fixed (float* py = y)
            {
                for (int t = 0; t < 2; t++)
                    fixed (float* px = RandomFloats(n, 9 * n + t)) Q8Act.Quantize(px, pa + t * stride, n);
                multi(pw, pa, stride, 2, py, 1, n);
                for (int t = 0; t < 2; t++)
                {
                    double want = QDot.Reference(type, pw, pa + t * stride, n);
                    float* da = Q8Act.Scales(pa + t * stride, n);
                    double norm = 0;
                    for (int i = 0; i < n; i++) norm += Math.Abs(wf[i] * ((sbyte*)pa)[t * stride + i] * da[i / 32]);
                    float got = kernel(pw, pa + t * stride, n);
                    Assert.True(Math.Abs(got - want) <= 1e-5 * norm + 1e-6, $"{type} n={n}: {got} vs {want}");
                    Assert.Equal(got, y[t]);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(IntegerTypes))]
    public void MultiTokenKernel_MatchesSingle(GgmlType type)
    {
        var single = QDot.Get(type);
        var multi = QDot.GetMulti(type);
        if (single == null) return;
        const int n = 512, tokens = 7;
        byte[] w = Quants.Quantize(type, RandomFloats(n, 3, 0.05f));
        int stride = Q8Act.RowBytes(n);
        var act = new byte[stride * tokens];
        var y = new float[tokens * 3];
        fixed (byte* pw = w) fixed (byte* pa = act) fixed (float* py = y)
        {
            for (int t = 0; t < tokens; t++)
                fixed (float* px = RandomFloats(n, 100 + t)) Q8Act.Quantize(px, pa + t * stride, n);
            multi(pw, pa, stride, tokens, py, 3, n);
            for (int t = 0; t < tokens; t++)
            {
                float want = single(pw, pa + t * stride, n);
                Assert.True(MathF.Abs(want - y[t * 3]) <= 1e-5f * (1 + MathF.Abs(want)), $"{type} token {t}: {y[t * 3]} vs {want}");
            }
        }
    }

    /// <summary>The 4-token prefill kernels of Q8_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K do the decode kernel's arithmetic in its order.</summary>
    [Theory]
    [InlineData(GgmlType.Q8_0, 256)]
    [InlineData(GgmlType.Q4_K, 256)]
    [InlineData(GgmlType.Q4_K, 2816)]
    [InlineData(GgmlType.Q5_K, 256)]
    [InlineData(GgmlType.Q4_1, 256)]
    [InlineData(GgmlType.Q4_1, 416)]
    [InlineData(GgmlType.Q5_0, 256)]
    [InlineData(GgmlType.Q5_0, 416)]
    [InlineData(GgmlType.Q5_0, 2816)]
    [InlineData(GgmlType.Q5_1, 96)]
    [InlineData(GgmlType.Q5_1, 2816)]
    [InlineData(GgmlType.Q5_K, 2816)]
    [InlineData(GgmlType.Q6_K, 256)]
    [InlineData(GgmlType.Q6_K, 2816)]
    public void MultiTokenKernel_BitIdenticalToSingle(GgmlType type, int n)
    {
        var single = QDot.Get(type);
        var multi = QDot.GetMulti(type);
        if (single == null) return;
        foreach (int tokens in new[] { 1, 4, 9 })
        {
            byte[] w = Quants.Quantize(type, RandomFloats(n, 17 + n, 0.05f));
            int stride = Q8Act.RowBytes(n);
            var act = new byte[stride * tokens];
            var y = new float[tokens * 2];
            fixed (byte* pw = w) fixed (byte* pa = act) fixed (float* py = y)
            {
                for (int t = 0; t < tokens; t++)
                    fixed (float* px = RandomFloats(n, 200 + t)) Q8Act.Quantize(px, pa + t * stride, n);
                multi(pw, pa, stride, tokens, py, 2, n);
                for (int t = 0; t < tokens; t++) Assert.Equal(single(pw, pa + t * stride, n), y[t * 2]);
            }
        }
    }

    [Fact]
    public void DecodeBatch_EqualsPerSequenceDecode()
    {
        var shape = new Shape(Dim: 256, Heads: 4, KvHeads: 2, HeadDim: 64, Ff: 256, Layers: 2, Vocab: 300, Type: GgmlType.Q4_0, Context: 128);
        string path = SyntheticModel.Write(shape, seed: 11);
        using var model = LlamaModel.Load(path, new EngineOptions { Threads = 2 });
        var rng = new Random(4);
        const int S = 5;
        var batched = new Sequence[S];
        var alone = new Sequence[S];
        for (int i = 0; i < S; i++)
        {
            batched[i] = model.CreateSequence(64);
            alone[i] = model.CreateSequence(64);
            int[] prompt = Enumerable.Range(0, 3 + 4 * i).Select(_ => rng.Next(shape.Vocab)).ToArray(); // different lengths
            batched[i].Prefill(prompt);
            alone[i].Prefill(prompt);
        }
        int[] tokens = new int[S];
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < S; i++) tokens[i] = rng.Next(shape.Vocab);
            model.DecodeBatch(batched, tokens);
            for (int i = 0; i < S; i++)
            {
                float[] want = alone[i].Decode(tokens[i]).ToArray();
                float[] got = batched[i].Logits.ToArray();
                Assert.Equal(alone[i].Position, batched[i].Position);
                for (int k = 0; k < want.Length; k++) Assert.True(MathF.Abs(want[k] - got[k]) <= 1e-4f * (1 + MathF.Abs(want[k])), $"seq {i} step {step} logit {k}: {got[k]} vs {want[k]}");
            }
        }
        Assert.Throws<ArgumentException>(() => model.DecodeBatch([batched[0], batched[0]], [1, 2]));
        Assert.Throws<ArgumentException>(() => model.DecodeBatch([batched[0]], [1, 2]));
        foreach (var s in batched.Concat(alone)) s.Dispose();
        File.Delete(path);
    }

    [Fact]
    public void DecodeBatch_AllocatesNothingInSteadyState()
    {
        var shape = new Shape(Dim: 128, Heads: 2, KvHeads: 1, HeadDim: 64, Ff: 128, Layers: 1, Vocab: 300, Type: GgmlType.Q8_0, Context: 128);
        string path = SyntheticModel.Write(shape, seed: 12);
        using var model = LlamaModel.Load(path, new EngineOptions { Threads = 2 });
        Sequence[] seqs = [model.CreateSequence(64), model.CreateSequence(64), model.CreateSequence(64)];
        int[] tokens = [1, 2, 3];
        model.DecodeBatch(seqs, tokens);
        model.DecodeBatch(seqs, tokens);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) model.DecodeBatch(seqs, tokens);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        foreach (var s in seqs) s.Dispose();
        File.Delete(path);
    }
}
