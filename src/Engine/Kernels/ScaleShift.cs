using System.Numerics;
using System.Runtime.Intrinsics;

namespace TtEngine.Kernels;

/// <summary>
/// Moves a packed matrix's half-precision scales out of the subnormal range: every scale is multiplied by 2^k (exact),
/// and the kernel's results by 2^-k (exact), so the results are bit-identical while no scale reaches the floating-point
/// unit as a subnormal.
/// </summary>
/// <remarks>
/// The kernels convert halves with integer shifts and one float multiply (<see cref="RowGroups.Halves"/>,
/// <see cref="RowGroups.HalfBits"/>): a half below 2^-14 becomes a subnormal float there, and every float operation on a
/// subnormal input takes a microcode assist of ~150 cycles on x86 (.NET leaves DAZ off, and F16C's conversion is not
/// exposed). K-quant super-block scales are that small: d is the largest of 8-16 sub-block scales over 63 or 127, so
/// with weights of standard deviation below ~0.02 (8B's matrices, 1/√4096) nearly every Q4_K and Q6_K d is subnormal.
/// One-thread microbenchmark, a chain of 8B-shaped Q4_Kx8 matrices from RAM: 65-69% of the read bandwidth with
/// subnormal scales, 86-88% without.
/// </remarks>
internal static unsafe class ScaleShift
{
    /// <summary>Smallest exponent of a normal half.</summary>
    private const int MinNormal = -14;

    /// <summary>Largest exponent of a finite half.</summary>
    private const int MaxFinite = 15;

    /// <summary>
    /// Widens [min, max] to the exponents (⌊log2 |h|⌋) of the nonzero halves among the first <paramref name="halves"/> of
    /// each <paramref name="blockBytes"/>-byte block in [p, p + bytes).
    /// </summary>
    public static void ExponentRange(byte* p, long bytes, int blockBytes, int halves, ref int min, ref int max)
    {
        for (long o = 0; o < bytes; o += blockBytes)
        {
            ushort* h = (ushort*)(p + o);
            for (int i = 0; i < halves; i++)
            {
                int bits = h[i] & 0x7FFF;
                if (bits == 0) continue;
                int e = Exponent(bits);
                if (e < min) min = e;
                if (e > max) max = e;
            }
        }
    }

    /// <summary>⌊log2 |h|⌋ of a nonzero finite half (its magnitude bits).</summary>
    private static int Exponent(int bits)
    {
        int e = bits >> 10;
        return e != 0 ? e - 15 : BitOperations.Log2((uint)bits) - 24; // subnormal: (bits)·2^-24
    }

    /// <summary>
    /// The shift k ≥ 0 that lifts the smallest exponent to the normal range without taking the largest past the finite
    /// one: 0 when nothing is subnormal, or when the range is too wide (more than 29 binades; then the kernels are as
    /// correct, and slower). At most 10, since no half is below 2^-24.
    /// </summary>
    public static int For(int min, int max)
    {
        if (min >= MinNormal || min > max) return 0;
        int need = MinNormal - min;
        return need <= MaxFinite - max ? need : 0;
    }

    /// <summary>Multiplies the first <paramref name="halves"/> halves of each block in [p, p + bytes) by 2^k (exactly: <see cref="For"/> keeps them finite).</summary>
    public static void Apply(byte* p, long bytes, int blockBytes, int halves, int k)
    {
        for (long o = 0; o < bytes; o += blockBytes)
        {
            ushort* h = (ushort*)(p + o);
            for (int i = 0; i < halves; i++) h[i] = Shift(h[i], k);
        }
    }

    /// <summary>The half h·2^k, for a k that keeps it finite and normal or zero.</summary>
    internal static ushort Shift(ushort h, int k)
    {
        int sign = h & 0x8000, e = (h >> 10) & 0x1F, m = h & 0x3FF;
        if (e == 0)
        {
            if (m == 0) return h;
            int s = 10 - BitOperations.Log2((uint)m); // left shifts that bring the leading bit to the implicit one
            m = (m << s) & 0x3FF;
            e = 1 - s;
        }
        e += k;
        if (e <= 0 || e >= 31) throw new ArgumentOutOfRangeException(nameof(k), k, $"0x{h:X4}·2^{k} is not a normal finite half");
        return (ushort)(sign | e << 10 | m);
    }

    /// <summary>y[i] ·= 2^-k for i &lt; n: undoes the shift on a kernel's results (exact).</summary>
    public static void Undo(float* y, int n, int k)
    {
        float f = 1f / (1 << k);
        int i = 0;
        var vf = Vector256.Create(f);
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(y + i) * vf, y + i);
        for (; i < n; i++) y[i] *= f;
    }
}
