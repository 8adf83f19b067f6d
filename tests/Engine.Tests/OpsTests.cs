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
}
