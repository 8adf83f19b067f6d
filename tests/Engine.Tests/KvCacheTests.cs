using TtEngine.Kernels;
using TtEngine.Model;
using TtEngine.Tensors;

namespace TtEngine.Tests;

/// <summary>The half-precision KV cache: exact conversions, and a forward pass within half rounding of the F32 cache.</summary>
public unsafe class KvCacheTests
{
    [Fact]
    public void HalfToFloat_Vectorised_EqualsTable_ForEveryHalf()
    {
        var src = new ushort[65536 + 5]; // + a tail the scalar loop converts
        for (int i = 0; i < src.Length; i++) src[i] = (ushort)i;
        var dst = new float[src.Length];
        fixed (ushort* s = src) fixed (float* d = dst) Ops.HalfToFloat(s, d, src.Length);
        for (int i = 0; i < src.Length; i++)
        {
            float want = Quants.HalfToFloat(src[i]);
            Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(dst[i]) || (float.IsNaN(want) && float.IsNaN(dst[i])),
                $"half 0x{src[i]:X4}: {dst[i]} vs {want}");
        }
    }

    [Fact]
    public void HalfBits_are_every_finite_halfs_value_over_2_to_the_112_exactly()
    {
        var src = new ushort[65536 + 5]; // + a tail the scalar loop converts
        for (int i = 0; i < src.Length; i++) src[i] = (ushort)i;
        var dst = new float[src.Length];
        var next = new byte[2 * src.Length]; // what the conversion prefetches: any readable memory
        fixed (ushort* s = src) fixed (float* d = dst) fixed (byte* p = next) Ops.HalfBitsToFloat(s, d, src.Length, p);
        for (int i = 0; i < src.Length; i++)
        {
            float value = Quants.HalfToFloat(src[i]);
            if (!float.IsFinite(value)) continue; // documented: Inf and NaN are kept away from it
            float want = (float)((double)value / Ops.HalfBitsUnit); // exact: a half / 2^112 is ≥ 2^-136, above float's 2^-149
            Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(dst[i]), $"half 0x{src[i]:X4}: {dst[i]} vs {want}");
        }
    }

    [Theory]
    [InlineData(64, 32)]
    [InlineData(64, 13)]  // two full groups of 8 keys, then 5 one by one
    [InlineData(64, 7)]   // only the one-by-one tail
    [InlineData(128, 8)]
    [InlineData(40, 19)]
    public void Four_head_scores_on_half_bits_equal_converting_then_scoring_each_head(int hd, int m)
    {
        if (!Ops.CanScoreFourHeads(hd)) return; // no AVX2+FMA: attention keeps the per-head path
        var rng = new Random(hd * 31 + m);
        ushort[] keys = RandomHalves(rng, m * hd);
        float[] q = Enumerable.Range(0, 4 * hd).Select(_ => (float)(rng.NextDouble() - 0.5) * 7.2e16f).ToArray(); // ×2^56, as attention scales them
        const int stride = 40;
        var want = new float[4 * stride];
        var got = new float[4 * stride];
        var rows = new float[m * hd];
        var tail = new float[8 * hd];
        var next = new byte[m * hd * 2];
        fixed (ushort* k = keys) fixed (float* pq = q) fixed (float* w = want) fixed (float* g = got) fixed (float* r = rows) fixed (float* t = tail) fixed (byte* p = next)
        {
            Ops.HalfBitsToFloat(k, r, m * hd, null);
            for (int h = 0; h < 4; h++) Ops.Scores(pq + h * hd, r, hd, m, 0.125f, w + h * stride);
            Ops.ScoresFourHeads(pq, k, hd, m, 0.125f, g, stride, t, p);
        }
        for (int h = 0; h < 4; h++)
            for (int i = 0; i < m; i++)
                Assert.True(BitConverter.SingleToInt32Bits(want[h * stride + i]) == BitConverter.SingleToInt32Bits(got[h * stride + i]),
                    $"head {h} key {i}: {got[h * stride + i]} vs {want[h * stride + i]}");
        Assert.All(got.Where((_, i) => i % stride >= m), v => Assert.Equal(0f, v)); // nothing written past m
    }

    [Theory]
    [InlineData(64, 32)]
    [InlineData(64, 13)]  // an odd row count: the last row goes onto the even chain
    [InlineData(128, 1)]
    [InlineData(32, 20)]
    public void Four_head_weighted_sums_on_half_bits_equal_converting_then_summing_each_head(int hd, int m)
    {
        if (!Ops.CanWeighFourHeads(hd)) return; // no AVX2+FMA: attention keeps the per-head path
        var rng = new Random(hd * 37 + m);
        ushort[] values = RandomHalves(rng, m * hd);
        const int stride = 40;
        float[] w = Enumerable.Range(0, 4 * stride).Select(_ => (float)rng.NextDouble() * Ops.HalfBitsUnit).ToArray(); // probabilities ×2^112
        float[] start = Enumerable.Range(0, 4 * hd).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(); // earlier chunks' sums
        float[] want = (float[])start.Clone(), got = (float[])start.Clone();
        var rows = new float[m * hd];
        var next = new byte[m * hd * 2];
        fixed (ushort* v = values) fixed (float* pw = w) fixed (float* pwant = want) fixed (float* pgot = got) fixed (float* r = rows) fixed (byte* p = next)
        {
            Ops.HalfBitsToFloat(v, r, m * hd, null);
            for (int h = 0; h < 4; h++) Ops.WeightedSum(pw + h * stride, r, hd, m, pwant + h * hd);
            Ops.WeightedSumFourHeads(pw, stride, v, hd, m, pgot, p);
        }
        for (int i = 0; i < want.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]), $"head {i / hd} output {i % hd}: {got[i]} vs {want[i]}");
    }

    /// <summary>n halves drawn from [-2, 2): cached keys or values of a plausible size.</summary>
    private static ushort[] RandomHalves(Random rng, int n) =>
        Enumerable.Range(0, n).Select(_ => BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() * 4 - 2))).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Reading_the_F16_cache_as_half_bits_gives_the_exact_conversions_logits(int threads)
    {
        var shape = new Shape(Dim: 256, Heads: 8, KvHeads: 2, HeadDim: 64, Ff: 256, Layers: 2, Vocab: 300, Type: GgmlType.Q8_0, Context: 256);
        string path = SyntheticModel.Write(shape, seed: 23);
        using var model = LlamaModel.Load(path, new EngineOptions { Threads = threads });
        var rng = new Random(9);
        int[] prompt = Enumerable.Range(0, 90).Select(_ => rng.Next(shape.Vocab)).ToArray();
        using var bits = model.CreateSequence(120);
        using var exact = model.CreateSequence(120);
        exact.KvNonFinite = true; // what a cached Inf or NaN does: attention converts every half exactly
        float[] want = exact.Prefill(prompt).ToArray(), got = bits.Prefill(prompt).ToArray();
        Assert.False(bits.KvNonFinite);
        for (int step = 0; ; step++)
        {
            Assert.Equal(want, got); // bit for bit: the 2^112 and 2^56 factors are powers of two, folded in exactly
            if (step == 4) break;
            int next = rng.Next(shape.Vocab);
            want = exact.Decode(next).ToArray();
            got = bits.Decode(next).ToArray();
        }
        File.Delete(path);
    }

    [Fact]
    public void A_key_beyond_the_half_range_makes_the_logits_NaN_as_an_exact_F16_cache_does()
    {
        // F32 weights 10^5 times too large: keys above 65504 round to Inf in the F16 cache, which must not read as finite
        var shape = new Shape(Dim: 64, Heads: 4, KvHeads: 2, HeadDim: 16, Ff: 128, Layers: 1, Vocab: 300, Context: 64, WeightScale: 1e5f);
        string path = SyntheticModel.Write(shape, seed: 24);
        using var model = LlamaModel.Load(path, new EngineOptions { Threads = 1 });
        using var f32Model = LlamaModel.Load(path, new EngineOptions { Threads = 1, KvCacheType = KvCacheType.F32 });
        using var s = model.CreateSequence(16);
        using var f32 = f32Model.CreateSequence(16);
        int[] prompt = [5, 17, 200];
        Assert.DoesNotContain(f32.Prefill(prompt).ToArray(), float.IsNaN); // the keys themselves are finite floats
        float[] logits = s.Prefill(prompt).ToArray();
        Assert.True(s.KvNonFinite);
        Assert.Contains(logits, float.IsNaN);
        Assert.Contains(s.Decode(3).ToArray(), float.IsNaN);
        s.Truncate(0);
        Assert.False(s.KvNonFinite);
        File.Delete(path);
    }

    [Fact]
    public void FloatToHalf_Vectorised_EqualsDotNetsConversion_BitForBit()
    {
        // every sign, exponent and top-10 mantissa bits (all that a half can keep), each with the low 13 bits at the
        // rounding edges (0, 1, just below/at/above the half-way point, all ones) and at a random value: 4.2M floats,
        // with the NaN payloads, infinities, overflow to Inf and the subnormal halves among them
        var rng = new Random(5);
        uint[] lows = [0, 1, 0x0FFF, 0x1000, 0x1001, 0x1FFF];
        var bits = new uint[(1 << 19) * (lows.Length + 1)];
        int k = 0;
        for (uint top = 0; top < 1u << 19; top++)
        {
            foreach (uint low in lows) bits[k++] = top << 13 | low;
            bits[k++] = top << 13 | (uint)rng.Next(1 << 13);
        }
        var got = new ushort[bits.Length];
        fixed (uint* src = bits) fixed (ushort* dst = got)
        {
            Ops.FloatToHalf((float*)src, dst, 5); // a tail shorter than a vector
            Ops.FloatToHalf((float*)src + 5, dst + 5, bits.Length - 5);
        }
        for (int i = 0; i < bits.Length; i++)
        {
            ushort want = BitConverter.HalfToUInt16Bits((Half)BitConverter.UInt32BitsToSingle(bits[i]));
            if (got[i] != want) Assert.Fail($"float 0x{bits[i]:X8}: 0x{got[i]:X4}, want 0x{want:X4}");
        }
    }

    [Fact]
    public void FloatToHalf_RoundsToNearest()
    {
        float[] x = [0f, -0f, 1f, -2.5f, 65504f, 1e6f, 6e-8f, 0.1f, 3.14159f];
        var h = new ushort[x.Length];
        var back = new float[x.Length];
        fixed (float* px = x) fixed (ushort* ph = h) fixed (float* pb = back)
        {
            Ops.FloatToHalf(px, ph, x.Length);
            Ops.HalfToFloat(ph, pb, x.Length);
        }
        for (int i = 0; i < x.Length; i++) Assert.Equal((float)(Half)x[i], back[i]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void F16Cache_CloseToF32Cache_OverALongerContext(int threads)
    {
        var shape = new Shape(Dim: 256, Heads: 8, KvHeads: 2, HeadDim: 32, Ff: 256, Layers: 2, Vocab: 300, Type: GgmlType.Q8_0, Context: 256);
        string path = SyntheticModel.Write(shape, seed: 21);
        // float activations: Q8 activation rounding would amplify the cache's half rounding into unrelated noise
        using var f32 = LlamaModel.Load(path, new EngineOptions { Threads = threads, KvCacheType = KvCacheType.F32, QuantizedActivations = false });
        using var f16 = LlamaModel.Load(path, new EngineOptions { Threads = threads, QuantizedActivations = false });
        Assert.Equal(2 * f16.KvBytesPerCachedToken, f32.KvBytesPerCachedToken);
        var rng = new Random(8);
        int[] prompt = Enumerable.Range(0, 150).Select(_ => rng.Next(shape.Vocab)).ToArray();
        using var a = f32.CreateSequence(200);
        using var b = f16.CreateSequence(200);
        float[] want = a.Prefill(prompt).ToArray(), got = b.Prefill(prompt).ToArray();
        for (int step = 0; step < 3; step++)
        {
            double scale = Math.Max(1, want.Max(Math.Abs));
            for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(got[i] - want[i]) / scale < 2e-3, $"step {step} logit {i}: {got[i]} vs {want[i]}");
            int next = rng.Next(shape.Vocab);
            want = a.Decode(next).ToArray();
            got = b.Decode(next).ToArray();
        }
        // a prefix copied between F16 sequences gives what prefilling it gives
        using var c = f16.CreateSequence(180);
        c.CopyPrefixFrom(b, 100);
        float[] viaCopy = c.Prefill(prompt.AsSpan(100)).ToArray();
        using var d = f16.CreateSequence(150);
        float[] viaPrefill = d.Prefill(prompt).ToArray();
        Assert.Equal(viaPrefill, viaCopy);
        File.Delete(path);
    }

    [Theory]
    [InlineData(64, 29)]
    [InlineData(128, 8)]
    [InlineData(40, 13)]  // hd not a multiple of 32: the per-row fallbacks
    public void AttentionKernels_MatchNaiveLoops(int hd, int m)
    {
        var rng = new Random(hd * 100 + m);
        float[] q = Enumerable.Range(0, hd).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] rows = Enumerable.Range(0, hd * m).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] w = Enumerable.Range(0, m).Select(_ => (float)rng.NextDouble()).ToArray();
        var scores = new float[m];
        float[] o = Enumerable.Range(0, hd).Select(i => (float)i).ToArray();
        float[] o0 = (float[])o.Clone();
        fixed (float* pq = q) fixed (float* pr = rows) fixed (float* pw = w) fixed (float* ps = scores) fixed (float* po = o)
        {
            Ops.Scores(pq, pr, hd, m, 0.125f, ps);
            Ops.WeightedSum(pw, pr, hd, m, po);
        }
        for (int i = 0; i < m; i++)
        {
            double want = 0;
            for (int d = 0; d < hd; d++) want += (double)q[d] * rows[i * hd + d];
            Assert.True(Math.Abs(scores[i] - want * 0.125) < 1e-5, $"score {i}: {scores[i]} vs {want * 0.125}");
        }
        for (int d = 0; d < hd; d++)
        {
            double want = o0[d];
            for (int i = 0; i < m; i++) want += (double)w[i] * rows[i * hd + d];
            Assert.True(Math.Abs(o[d] - want) < 1e-4, $"out {d}: {o[d]} vs {want}");
        }
    }
}
