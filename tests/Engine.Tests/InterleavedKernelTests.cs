using System.Runtime.CompilerServices;
using TtEngine.Kernels;
using TtEngine.Model;
using TtEngine.Tensors;

namespace TtEngine.Tests;

/// <summary>The 8-row interleaved forms (Q4_0x8, Q8_0x8, Q4_Kx8, Q6_Kx8): packing, kernels against the scalar reference, and a whole model with and without them.</summary>
public unsafe class InterleavedKernelTests
{
    public static TheoryData<GgmlType> Types() => new() { GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K };

    private static bool Supports(GgmlType type, int rows, int n) => RowGroups.TryGet(type, rows, n, out _);

    private static RowGroups Form(GgmlType type)
    {
        Assert.True(RowGroups.TryGet(type, 8, 256, out var form));
        return form;
    }

    private static long GroupBytes(GgmlType type, int n) => Form(type).GroupBytes(n);

    private static bool PackGroups(GgmlType type, byte* src, long rowBytes, int n, int g0, int g1, byte* dst) => Form(type).Pack(src, rowBytes, n, g0, g1, dst);

    private static void GroupDot(GgmlType type, byte* group, int groups, byte* act, long actStride, int nTok, float* y, long yStride, int n) =>
        Form(type).Dot(group, groups, act, actStride, nTok, y, yStride, n);

    /// <summary>Where a block's half-precision scales sit: Q4_0 and Q8_0 d at 0, Q4_K d at 0 and dmin at 2, Q6_K d at 208.</summary>
    private static (int Bytes, int[] Halves) Layout(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => (18, [0]),
        GgmlType.Q8_0 => (34, [0]),
        GgmlType.Q4_K => (144, [0, 2]),
        _ => (210, [208]),
    };

    private static float[] RandomFloats(int n, int seed, float scale)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale * (i % 37 == 0 ? 4 : 1);
        return x;
    }

    /// <summary>rows × n plain blocks, with a zero, a negative, subnormals of both signs and the largest finite half among the scales (Q4_K: d and dmin).</summary>
    private static byte[] Matrix(GgmlType type, int rows, int n, int seed)
    {
        byte[] w = Quants.Quantize(type, RandomFloats(rows * n, seed, 0.05f));
        var (bs, halves) = Layout(type);
        ushort[] special = [0x0000, 0x8400 | 0x0123, 0x0001, 0x03FF, 0x7BFF, 0x8001];
        for (int i = 0; i < special.Length && i * 3 < w.Length / bs; i++)
            Unsafe.WriteUnaligned(ref w[i * 3 * bs + halves[i % halves.Length]], special[i]);
        return w;
    }

    private static int RowBytes(GgmlType type, int n) => (int)GgmlTypeInfo.RowBytes(type, n);

    /// <summary>Activation rows quantized as the form's kernel reads them (one scale per 32 elements, or per 256 for the K-quants).</summary>
    private static byte[] Activations(GgmlType type, int n, int tokens, int seed)
    {
        int stride = Q8Act.RowBytes(n);
        var act = new byte[stride * tokens];
        bool super = Form(type).SuperBlockActivations;
        fixed (byte* pa = act)
            for (int t = 0; t < tokens; t++)
                fixed (float* px = RandomFloats(n, seed + t, 1f)) Q8Act.Quantize(px, pa + t * stride, n, super);
        return act;
    }

    private static byte[] Pack(GgmlType type, byte[] w, int rows, int n)
    {
        var packed = new byte[GroupBytes(type, n) * (rows / 8)];
        fixed (byte* pw = w) fixed (byte* pp = packed)
            Assert.True(PackGroups(type, pw, RowBytes(type, n), n, 0, rows / 8, pp));
        return packed;
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 32)]
    [InlineData(GgmlType.Q4_0, 256)]
    [InlineData(GgmlType.Q4_0, 2816)]
    [InlineData(GgmlType.Q8_0, 32)]
    [InlineData(GgmlType.Q8_0, 2816)]
    [InlineData(GgmlType.Q4_K, 256)]
    [InlineData(GgmlType.Q4_K, 2816)]
    [InlineData(GgmlType.Q6_K, 256)]
    [InlineData(GgmlType.Q6_K, 2816)]
    public void Every_row_and_token_matches_the_scalar_reference(GgmlType type, int n)
    {
        if (!Supports(type, 24, n)) return; // no AVX2: the plain kernels are used and tested elsewhere
        const int rows = 24, tokens = 6; // 6 = one four-token pass and two single ones; 3 groups = a pair and a single one
        byte[] w = Matrix(type, rows, n, n), packed = Pack(type, w, rows, n), act = Activations(type, n, tokens, 3 * n);
        int stride = Q8Act.RowBytes(n), rowBytes = RowBytes(type, n);
        var y = new float[tokens * rows];
        var single = new float[tokens * rows]; // each token on its own: the one-token path (two groups at a time for Q4_0)
        fixed (byte* pw = w) fixed (byte* pp = packed) fixed (byte* pa = act) fixed (float* py = y) fixed (float* ps = single)
        {
            GroupDot(type, pp, rows / 8, pa, stride, tokens, py, rows, n);
            for (int t = 0; t < tokens; t++) GroupDot(type, pp, rows / 8, pa + t * stride, stride, 1, ps + t * rows, rows, n);
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                {
                    double want = QDot.Reference(type, pw + r * rowBytes, pa + t * stride, n);
                    float[] wf = Quants.Dequantize(type, w.AsSpan(r * rowBytes, rowBytes).ToArray(), n);
                    float* da = Q8Act.Scales(pa + t * stride, n);
                    double norm = 0;
                    for (int i = 0; i < n; i++) norm += Math.Abs(wf[i] * ((sbyte*)pa)[t * stride + i] * da[i / 32]);
                    Assert.True(Math.Abs(y[t * rows + r] - want) <= 1e-5 * norm + 1e-30, $"{type} n={n} token {t} row {r}: {y[t * rows + r]} vs {want}");
                    Assert.True(Math.Abs(single[t * rows + r] - want) <= 1e-5 * norm + 1e-30, $"{type} n={n} token {t} row {r} alone: {single[t * rows + r]} vs {want}");
                }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 1024)]
    [InlineData(GgmlType.Q4_0, 320)] // 10 blocks: the side-by-side kernels' prefetch runs past a whole four-block step
    [InlineData(GgmlType.Q8_0, 320)]
    [InlineData(GgmlType.Q4_K, 512)]
    [InlineData(GgmlType.Q6_K, 512)]
    public void A_range_of_groups_is_bit_identical_to_one_group_at_a_time(GgmlType type, int n)
    {
        const int groups = 7, rows = 8 * groups; // Q4_0: four groups side by side, a pair, a single one; others: pairs, a single one
        if (!Supports(type, rows, n)) return;
        byte[] packed = Pack(type, Matrix(type, rows, n, 17), rows, n), act = Activations(type, n, 3, 60);
        int stride = Q8Act.RowBytes(n);
        foreach (int tokens in new[] { 1, 3 })
        {
            var range = new float[tokens * rows];
            var each = new float[tokens * rows];
            fixed (byte* pp = packed) fixed (byte* pa = act) fixed (float* pr = range) fixed (float* pe = each)
            {
                GroupDot(type, pp, groups, pa, stride, tokens, pr, rows, n);
                for (int g = 0; g < groups; g++) GroupDot(type, pp + g * GroupBytes(type, n), 1, pa, stride, tokens, pe + 8 * g, rows, n);
            }
            Assert.Equal(each, range);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Four_token_pass_is_bit_identical_to_one_token_passes(GgmlType type)
    {
        if (!Supports(type, 8, 1024)) return;
        const int n = 1024;
        byte[] w = Matrix(type, 8, n, 5), packed = Pack(type, w, 8, n), act = Activations(type, n, 4, 50);
        int stride = Q8Act.RowBytes(n);
        var four = new float[32];
        var one = new float[32];
        fixed (byte* pp = packed) fixed (byte* pa = act) fixed (float* p4 = four) fixed (float* p1 = one)
        {
            GroupDot(type, pp, 1, pa, stride, 4, p4, 8, n);
            for (int t = 0; t < 4; t++) GroupDot(type, pp, 1, pa + t * stride, stride, 1, p1 + 8 * t, 8, n);
        }
        Assert.Equal(one, four);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void A_matrix_with_an_infinite_or_NaN_scale_is_not_packed(GgmlType type)
    {
        const int n = 512;
        if (!Supports(type, 8, n)) return; // no AVX2: no interleaved forms at all
        var (bs, halves) = Layout(type);
        foreach (ushort bad in new ushort[] { 0x7C00, 0xFC00, 0x7E00 })
            foreach (int at in halves)
            {
                byte[] w = Matrix(type, 8, n, 9);
                Unsafe.WriteUnaligned(ref w[5 * RowBytes(type, n) + bs + at], bad); // row 5, block 1
                var packed = new byte[GroupBytes(type, n)];
                fixed (byte* pw = w) fixed (byte* pp = packed) Assert.False(PackGroups(type, pw, RowBytes(type, n), n, 0, 1, pp));
            }
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 2e-4f)]
    [InlineData(GgmlType.Q8_0, 2e-3f)]
    [InlineData(GgmlType.Q4_K, 5e-3f)]
    [InlineData(GgmlType.Q6_K, 5e-2f)]
    public void Scales_shifted_out_of_the_subnormal_range_give_bit_identical_results(GgmlType type, float weights)
    {
        const int rows = 24, n = 1024, tokens = 5; // a pair and a single group; a four-token pass and a single token
        if (!Supports(type, rows, n)) return;
        var form = Form(type);
        byte[] packed = Pack(type, Quants.Quantize(type, RandomFloats(rows * n, 8, weights)), rows, n), act = Activations(type, n, tokens, 80);
        int stride = Q8Act.RowBytes(n);
        var before = new float[tokens * rows];
        var after = new float[tokens * rows];
        fixed (byte* pp = packed) fixed (byte* pa = act) fixed (float* pb = before) fixed (float* pf = after)
        {
            GroupDot(type, pp, rows / 8, pa, stride, tokens, pb, rows, n);
            int min = int.MaxValue, max = int.MinValue;
            ScaleShift.ExponentRange(pp, packed.Length, form.ScaleBlockBytes, form.ScaleHalves, ref min, ref max);
            Assert.True(min < -14, $"{type}: the smallest scale is 2^{min}, not subnormal");
            int k = ScaleShift.For(min, max);
            Assert.InRange(k, 1, 10);
            ScaleShift.Apply(pp, packed.Length, form.ScaleBlockBytes, form.ScaleHalves, k);
            int min2 = int.MaxValue, max2 = int.MinValue;
            ScaleShift.ExponentRange(pp, packed.Length, form.ScaleBlockBytes, form.ScaleHalves, ref min2, ref max2);
            Assert.Equal((min + k, max + k), (min2, max2));
            Assert.True(min2 >= -14, $"{type}: 2^{min2} is still subnormal");
            GroupDot(type, pp, rows / 8, pa, stride, tokens, pf, rows, n);
            for (int t = 0; t < tokens; t++) ScaleShift.Undo(pf + t * rows, rows, k);
        }
        Assert.Equal(before, after);
    }

    [Fact]
    public void Shifting_a_half_multiplies_it_by_a_power_of_two_exactly()
    {
        for (int h = 0; h < 0x10000; h++)
        {
            if ((h & 0x7C00) == 0x7C00) continue; // Inf/NaN are never packed
            var value = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            for (int k = 0; k <= 10; k++)
            {
                float want = value * (1 << k);
                if (want != 0 && MathF.Abs(want) < 6.1035156e-5f || MathF.Abs(want) > 65504f) continue; // would be subnormal or not finite
                Assert.Equal(want, (float)BitConverter.UInt16BitsToHalf(ScaleShift.Shift((ushort)h, k)));
            }
        }
        Assert.Equal(10, ScaleShift.For(-24, 5));
        Assert.Equal(0, ScaleShift.For(-24, 6));   // 2^6·2^10 would pass the largest half: left alone
        Assert.Equal(0, ScaleShift.For(-14, 15));  // nothing subnormal
        Assert.Equal(3, ScaleShift.For(-17, -2));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Interleaved_model_gives_the_plain_models_logits(GgmlType type) =>
        AssertInterleavedGivesPlainLogits(new Shape(Dim: 256, Heads: 4, KvHeads: 2, HeadDim: 64, Ff: 512, Layers: 2, Vocab: 320, Type: type, Context: 64));

    [Theory]
    [InlineData(GgmlType.Q4_0, 2e-3f)]
    [InlineData(GgmlType.Q8_0, 2e-2f)]
    [InlineData(GgmlType.Q4_K, 0.1f)]
    [InlineData(GgmlType.Q6_K, 1f)]
    public void Interleaved_model_with_subnormal_scales_gives_the_plain_models_logits(GgmlType type, float weightScale)
    {
        var shape = new Shape(Dim: 256, Heads: 4, KvHeads: 2, HeadDim: 64, Ff: 512, Layers: 2, Vocab: 320, Type: type, Context: 64, WeightScale: weightScale);
        int shifted = AssertInterleavedGivesPlainLogits(shape);
        if (Supports(type, 8, 256)) Assert.True(shifted > 0, $"{type} ×{weightScale}: no matrix had subnormal scales to shift");
    }

    /// <summary>Prefill and decode logits of the model with and without interleaving; returns the matrices whose scales were shifted.</summary>
    private static int AssertInterleavedGivesPlainLogits(Shape shape)
    {
        var type = shape.Type;
        string path = SyntheticModel.Write(shape, seed: 21);
        try
        {
            using var packed = LlamaModel.Load(path, new EngineOptions { Threads = 2 });
            using var plain = LlamaModel.Load(path, new EngineOptions { Threads = 2, InterleaveWeights = false });
            using var exact = LlamaModel.Load(path, new EngineOptions { Threads = 2, QuantizedActivations = false });
            Assert.Equal(0, plain.InterleavedMatrices);
            if (Supports(type, 8, 256)) Assert.Equal(1 + 7 * shape.Layers, packed.InterleavedMatrices);
            using Sequence a = packed.CreateSequence(64), b = plain.CreateSequence(64), e = exact.CreateSequence(64);
            int[] prompt = [1, 17, 42, 99, 7, 250, 3, 64, 128]; // 9 tokens: four-token passes and a single one
            Compare(a.Prefill(prompt).ToArray(), b.Prefill(prompt).ToArray(), e.Prefill(prompt).ToArray(), "prefill");
            foreach (int tok in new[] { 5, 300, 11 }) Compare(a.Decode(tok).ToArray(), b.Decode(tok).ToArray(), e.Decode(tok).ToArray(), $"decode {tok}");
            return packed.ScaleShiftedMatrices;
        }
        finally { File.Delete(path); }

        // Both integer-domain models carry the Q8 activation rounding (the orders of summation differ, so an activation
        // can round the other way): the interleaved one must be as close to the float-activation model as the plain one.
        static void Compare(float[] packed, float[] plain, float[] exact, string what)
        {
            float scale = exact.Max(MathF.Abs);
            float packedErr = packed.Zip(exact).Max(z => MathF.Abs(z.First - z.Second));
            float plainErr = plain.Zip(exact).Max(z => MathF.Abs(z.First - z.Second));
            Assert.True(packedErr <= 1.5f * plainErr + 1e-3f * scale, $"{what}: interleaved model off by {packedErr}, plain by {plainErr} (max |logit| {scale})");
            Assert.True(packedErr <= 0.05f * scale, $"{what}: interleaved model off by {packedErr} (max |logit| {scale})");
        }
    }
}
