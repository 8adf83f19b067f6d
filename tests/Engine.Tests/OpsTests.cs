using TtEngine.Kernels;

namespace TtEngine.Tests;

/// <summary>Element-wise operations of the forward pass (Ops) against double-precision references.</summary>
public unsafe class OpsTests
{
    [Theory]
    [InlineData(4099, 10f)]   // vector body and a scalar tail, nothing near the floor
    [InlineData(4099, 150f)]  // a third of the scores below the floor
    [InlineData(5, 300f)]     // scalar path only
    public void Softmax_matches_the_reference_and_gives_no_subnormal_probability(int n, float spread)
    {
        var rng = new Random(n);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = 3f - spread * (float)rng.NextDouble();
        x[n / 2] = float.NegativeInfinity; // a masked position
        float max = x.Max();
        double sum = x.Sum(v => v - max > Ops.SoftmaxFloor ? Math.Exp(v - max) : 0);
        float[] p = (float[])x.Clone();
        fixed (float* pp = p) Ops.Softmax(pp, n);
        for (int i = 0; i < n; i++)
        {
            double d = x[i] - max;
            Assert.False(p[i] != 0 && float.IsSubnormal(p[i]), $"p[{i}] = {p[i]} is subnormal (score {d} below the maximum)");
            if (d <= Ops.SoftmaxFloor) Assert.Equal(0f, p[i]);
            else Assert.True(Math.Abs(p[i] - Math.Exp(d) / sum) <= 1e-6 * Math.Exp(d) / sum, $"p[{i}] = {p[i]}, want {Math.Exp(d) / sum}");
        }
        Assert.InRange(p.Sum(v => (double)v), 1 - 1e-5, 1 + 1e-5);
    }

    [Theory]
    [InlineData(4099)]
    [InlineData(5)]
    public void Softmax_times_a_power_of_two_is_the_softmax_times_it_exactly(int n)
    {
        var rng = new Random(n + 1);
        float[] x = Enumerable.Range(0, n).Select(_ => 4f - 90f * (float)rng.NextDouble()).ToArray();
        float[] plain = (float[])x.Clone(), scaled = (float[])x.Clone();
        fixed (float* a = plain) fixed (float* b = scaled)
        {
            Ops.Softmax(a, n);
            Ops.Softmax(b, n, Ops.HalfBitsUnit);
        }
        for (int i = 0; i < n; i++) Assert.Equal(plain[i] * Ops.HalfBitsUnit, scaled[i]);
    }

    [Fact]
    public void ScaleIfBelow_scales_only_when_every_magnitude_is_below_the_limit()
    {
        float[] x = Enumerable.Range(0, 21).Select(i => i - 10.5f).ToArray();
        fixed (float* p = x) Assert.True(Ops.ScaleIfBelow(p, x.Length, 4f, 11f));
        Assert.Equal(Enumerable.Range(0, 21).Select(i => 4f * (i - 10.5f)), x);
        foreach (float bad in new[] { 1e30f, -1e30f, float.NaN, float.PositiveInfinity })
            foreach (int at in new[] { 0, 9, 20 }) // in the vector body and in the scalar tail
            {
                float[] y = Enumerable.Range(0, 21).Select(i => (float)i).ToArray();
                y[at] = bad;
                float[] before = (float[])y.Clone();
                fixed (float* p = y) Assert.False(Ops.ScaleIfBelow(p, y.Length, 4f, 1e20f));
                Assert.Equal(before, y);
            }
    }
}
