using System.Runtime.CompilerServices;
using TtEngine.Kernels;
using TtEngine.Model;
using TtEngine.Tensors;

namespace TtEngine.Tests;

/// <summary>The 8-row interleaved Q4_0 form: packing, kernels against the scalar reference, and a whole model with and without it.</summary>
public unsafe class Q4_0x8Tests
{
    private static float[] RandomFloats(int n, int seed, float scale)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale * (i % 37 == 0 ? 4 : 1);
        return x;
    }

    /// <summary>rows × n plain Q4_0, with a zero, a negative, a subnormal and the largest finite scale among the blocks.</summary>
    private static byte[] Matrix(int rows, int n, int seed)
    {
        byte[] w = Quants.Quantize(GgmlType.Q4_0, RandomFloats(rows * n, seed, 0.05f));
        ushort[] special = [0x0000, 0x8400 | 0x0123, 0x0001, 0x03FF, 0x7BFF];
        for (int i = 0; i < special.Length && i * 3 < w.Length / 18; i++)
            Unsafe.WriteUnaligned(ref w[i * 3 * 18 + 18 * (i % 2)], special[i]);
        return w;
    }

    private static byte[] Activations(int n, int tokens, int seed)
    {
        int stride = Q8Act.RowBytes(n);
        var act = new byte[stride * tokens];
        fixed (byte* pa = act)
            for (int t = 0; t < tokens; t++)
                fixed (float* px = RandomFloats(n, seed + t, 1f)) Q8Act.Quantize(px, pa + t * stride, n);
        return act;
    }

    private static byte[] Pack(byte[] w, int rows, int n)
    {
        var packed = new byte[Q4_0x8.GroupBytes(n) * (rows / 8)];
        fixed (byte* pw = w) fixed (byte* pp = packed)
            Assert.True(Q4_0x8.Pack(pw, n / 32 * 18, n, 0, rows / 8, pp));
        return packed;
    }

    [Theory]
    [InlineData(32)]
    [InlineData(256)]
    [InlineData(2816)]
    public void Every_row_and_token_matches_the_scalar_reference(int n)
    {
        if (!Q4_0x8.Supports(GgmlType.Q4_0, 16, n)) return; // no AVX2: the plain kernels are used and tested elsewhere
        const int rows = 16, tokens = 6; // 6 = one four-token pass and two single ones
        byte[] w = Matrix(rows, n, n), packed = Pack(w, rows, n), act = Activations(n, tokens, 3 * n);
        int stride = Q8Act.RowBytes(n), rowBytes = n / 32 * 18;
        var y = new float[tokens * rows];
        fixed (byte* pw = w) fixed (byte* pp = packed) fixed (byte* pa = act) fixed (float* py = y)
        {
            for (int g = 0; g < rows / 8; g++) Q4_0x8.Dot(pp + g * Q4_0x8.GroupBytes(n), pa, stride, tokens, py + 8 * g, rows, n);
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                {
                    double want = QDot.Reference(GgmlType.Q4_0, pw + r * rowBytes, pa + t * stride, n);
                    float[] wf = Quants.Dequantize(GgmlType.Q4_0, w.AsSpan(r * rowBytes, rowBytes).ToArray(), n);
                    float* da = Q8Act.Scales(pa + t * stride, n);
                    double norm = 0;
                    for (int i = 0; i < n; i++) norm += Math.Abs(wf[i] * ((sbyte*)pa)[t * stride + i] * da[i / 32]);
                    Assert.True(Math.Abs(y[t * rows + r] - want) <= 1e-5 * norm + 1e-30, $"n={n} token {t} row {r}: {y[t * rows + r]} vs {want}");
                }
        }
    }

    [Fact]
    public void Four_token_pass_is_bit_identical_to_one_token_passes()
    {
        if (!Q4_0x8.Supports(GgmlType.Q4_0, 8, 1024)) return;
        const int n = 1024;
        byte[] w = Matrix(8, n, 5), packed = Pack(w, 8, n), act = Activations(n, 4, 50);
        int stride = Q8Act.RowBytes(n);
        var four = new float[32];
        var one = new float[32];
        fixed (byte* pp = packed) fixed (byte* pa = act) fixed (float* p4 = four) fixed (float* p1 = one)
        {
            Q4_0x8.Dot(pp, pa, stride, 4, p4, 8, n);
            for (int t = 0; t < 4; t++) Q4_0x8.Dot(pp, pa + t * stride, stride, 1, p1 + 8 * t, 8, n);
        }
        Assert.Equal(one, four);
    }

    [Fact]
    public void A_matrix_with_an_infinite_or_NaN_scale_is_not_packed()
    {
        const int n = 64;
        foreach (ushort bad in new ushort[] { 0x7C00, 0xFC00, 0x7E00 })
        {
            byte[] w = Matrix(8, n, 9);
            Unsafe.WriteUnaligned(ref w[5 * (n / 32 * 18) + 18], bad); // row 5, block 1
            var packed = new byte[Q4_0x8.GroupBytes(n)];
            fixed (byte* pw = w) fixed (byte* pp = packed) Assert.False(Q4_0x8.Pack(pw, n / 32 * 18, n, 0, 1, pp));
        }
    }

    [Fact]
    public void Interleaved_model_gives_the_plain_models_logits()
    {
        var shape = new Shape(Dim: 256, Heads: 4, KvHeads: 2, HeadDim: 64, Ff: 512, Layers: 2, Vocab: 320, Type: GgmlType.Q4_0, Context: 64);
        string path = SyntheticModel.Write(shape, seed: 21);
        try
        {
            using var packed = LlamaModel.Load(path, new EngineOptions { Threads = 2 });
            using var plain = LlamaModel.Load(path, new EngineOptions { Threads = 2, InterleaveWeights = false });
            using var exact = LlamaModel.Load(path, new EngineOptions { Threads = 2, QuantizedActivations = false });
            Assert.Equal(0, plain.InterleavedMatrices);
            if (Q4_0x8.Supports(GgmlType.Q4_0, 8, 256)) Assert.Equal(1 + 7 * shape.Layers, packed.InterleavedMatrices);
            using Sequence a = packed.CreateSequence(64), b = plain.CreateSequence(64), e = exact.CreateSequence(64);
            int[] prompt = [1, 17, 42, 99, 7, 250, 3, 64, 128]; // 9 tokens: four-token passes and a single one
            Compare(a.Prefill(prompt).ToArray(), b.Prefill(prompt).ToArray(), e.Prefill(prompt).ToArray(), "prefill");
            foreach (int tok in new[] { 5, 300, 11 }) Compare(a.Decode(tok).ToArray(), b.Decode(tok).ToArray(), e.Decode(tok).ToArray(), $"decode {tok}");
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
