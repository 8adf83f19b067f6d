using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TtEngine.Tensors;

namespace TtEngine.Kernels;

/// <summary>
/// The 8-row interleaved weight forms (<see cref="Q4_0x8"/>, <see cref="Q8_0x8"/>, <see cref="Q4_Kx8"/>,
/// <see cref="Q6_Kx8"/>): which tensor types and shapes have one, and its packer and kernel. The model loader and the
/// tests both go through <see cref="TryGet"/>.
/// </summary>
public unsafe struct RowGroups
{
    /// <summary>Rows per interleaved group.</summary>
    public const int Rows = 8;

    /// <summary>Bytes of one packed group of 8 rows of <c>cols</c> elements.</summary>
    public delegate*<int, long> GroupBytes;

    /// <summary>(src, rowBytes, cols, g0, g1, dst): interleaves groups [g0, g1); false if a scale is Inf or NaN (then the matrix stays plain).</summary>
    public delegate*<byte*, long, int, int, int, byte*, bool> Pack;

    /// <summary>
    /// (group, groups, act, actStride, nTok, y, yStride, n): y[t·yStride + 8·g + r] = row r of group g · act[t] for
    /// <c>groups</c> consecutive groups (<see cref="GroupBytes"/> apart). One call per thread's share of a matrix, so a
    /// kernel's set-up is paid once and Q4_0x8 can stream two groups at a time.
    /// </summary>
    public delegate*<byte*, int, byte*, long, int, float*, long, int, void> Dot;

    /// <summary>Bytes of the blocks (or super-blocks) that start with half-precision scales, and how many halves: <see cref="ScaleShift"/>.</summary>
    public int ScaleBlockBytes, ScaleHalves;

    /// <summary>
    /// The kernel reads one activation scale per 256 elements (<see cref="Q8Act.QuantizeSuperBlocks"/>) and sums a
    /// super-block's products in int32: the K-quant forms.
    /// </summary>
    public bool SuperBlockActivations;

    /// <summary>The interleaved form of a matrix of this type and shape (AVX2 + FMA, rows a multiple of 8, whole blocks per row).</summary>
    public static bool TryGet(GgmlType type, int rows, int cols, out RowGroups form)
    {
        form = default;
        if (!Avx2.IsSupported || !Fma.IsSupported || rows % Rows != 0 || cols <= 0 || cols % GgmlTypeInfo.BlockElements(type) != 0)
            return false;
        switch (type)
        {
            case GgmlType.Q4_0:
                form = new RowGroups { GroupBytes = &Q4_0x8.GroupBytes, Pack = &Q4_0x8.Pack, Dot = &Q4_0x8.Dot, ScaleBlockBytes = 144, ScaleHalves = 8 };
                return true;
            case GgmlType.Q8_0:
                form = new RowGroups { GroupBytes = &Q8_0x8.GroupBytes, Pack = &Q8_0x8.Pack, Dot = &Q8_0x8.Dot, ScaleBlockBytes = 272, ScaleHalves = 8 };
                return true;
            case GgmlType.Q4_K:
                form = new RowGroups { GroupBytes = &Q4_Kx8.GroupBytes, Pack = &Q4_Kx8.Pack, Dot = &Q4_Kx8.Dot, SuperBlockActivations = true, ScaleBlockBytes = 1184, ScaleHalves = 16 };
                return true;
            case GgmlType.Q6_K:
                form = new RowGroups { GroupBytes = &Q6_Kx8.GroupBytes, Pack = &Q6_Kx8.Pack, Dot = &Q6_Kx8.Dot, SuperBlockActivations = true, ScaleBlockBytes = 1680, ScaleHalves = 8 };
                return true;
            default:
                return false;
        }
    }

    /// <summary>The low nibbles of 32 bytes, each as a byte 0-15 (Q4_0 and Q4_K quants).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> LowNibbles(Vector256<byte> w) => w & Vector256.Create((byte)0x0F);

    /// <summary>The high nibbles of 32 bytes, each as a byte 0-15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> HighNibbles(Vector256<byte> w) => Avx2.ShiftRightLogical(w.AsUInt16(), 4).AsByte() & Vector256.Create((byte)0x0F);

    /// <summary>The 8 halves at <paramref name="p"/> as floats (exact for finite values, subnormals included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Halves(byte* p)
    {
        // sign-extended, shifted into float position: the sign lands in bit 31 with three copies in bits 28-30, which the
        // mask clears; the multiply by 2^112 then rebiases the exponent (and normalises subnormals) with the sign kept.
        // Four operations where zero-extending and OR-ing the sign back took seven.
        var h = Avx2.ConvertToVector256Int32(Vector128.Load((short*)p));
        var bits = Avx2.ShiftLeftLogical(h, 13) & Vector256.Create(unchecked((int)0x8FFFFFFF));
        return bits.AsSingle() * Vector256.Create(5.192296858534828e33f); // 2^112
    }

    /// <summary>
    /// The 8 halves at <paramref name="p"/> as floats times 2⁻¹¹² (exact, subnormals included): <see cref="Halves"/>
    /// without its multiply, for kernels whose activation factors carry 2⁴⁸ (<see cref="Q8Act.BitScales"/>) and whose
    /// result is multiplied by <see cref="HalfBitsToValue"/> once at the end. Inf/NaN halves are never packed. Attention
    /// reads the F16 cache the same way (<see cref="Ops.HalfBitsToFloat"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfBits(byte* p)
    {
        var h = Avx2.ConvertToVector256Int32(Vector128.Load((short*)p));
        return (Avx2.ShiftLeftLogical(h, 13) & Vector256.Create(unchecked((int)0x8FFFFFFF))).AsSingle();
    }

    /// <summary>2⁶⁴ = 2¹¹² / 2⁴⁸: turns Σ <see cref="HalfBits"/> · (activation factor · 2⁴⁸) into the value.</summary>
    internal const float HalfBitsToValue = 18446744073709551616f;

    /// <summary>
    /// Packs formats whose 32-block is one half scale then <paramref name="pieces"/> × 4 quant bytes (Q4_0: 4, Q8_0: 8):
    /// per block <c>[8 halves][pieces × 32 bytes]</c>, piece c holding row r's bytes 4c..4c+3 at 4r. False if a scale is
    /// Inf or NaN (the kernels' half→float conversion is exact for finite values only).
    /// </summary>
    internal static bool PackScaleAndBytes(byte* src, long rowBytes, int cols, int g0, int g1, byte* dst, int blockBytes, int pieces)
    {
        int nb = cols / 32, outBlock = 16 + 32 * pieces;
        long gBytes = (long)nb * outBlock;
        bool finite = true;
        for (int g = g0; g < g1; g++)
        {
            byte* rows0 = src + (long)g * Rows * rowBytes;
            for (int b = 0; b < nb; b++)
            {
                byte* o = dst + g * gBytes + (long)b * outBlock;
                for (int r = 0; r < Rows; r++)
                {
                    byte* blk = rows0 + r * rowBytes + b * blockBytes;
                    ushort d = Unsafe.ReadUnaligned<ushort>(blk);
                    finite &= (d & 0x7C00) != 0x7C00;
                    Unsafe.WriteUnaligned(o + 2 * r, d);
                    for (int c = 0; c < pieces; c++)
                        Unsafe.WriteUnaligned(o + 16 + 32 * c + 4 * r, Unsafe.ReadUnaligned<uint>(blk + 2 + 4 * c));
                }
            }
        }
        return finite;
    }

    /// <summary>
    /// <see cref="ByFours"/> for several tokens; for one token, <paramref name="dot1Quad"/> (when the form has one) over
    /// four adjacent groups at a time (rows 0-31 to y[0..31]), then <paramref name="dot1Pair"/> (when it has one) over
    /// two, then <paramref name="dot1"/> for the rest.
    /// </summary>
    internal static void ByFoursOrSideBySide(delegate*<byte*, byte*, long, float*, long, int, bool, void> dot4, delegate*<byte*, byte*, float*, int, void> dot1,
        delegate*<byte*, long, byte*, float*, int, void> dot1Pair, delegate*<byte*, long, byte*, float*, int, void> dot1Quad,
        byte* group, int groups, long groupBytes, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        if (nTok != 1)
        {
            ByFours(dot4, dot1, group, groups, groupBytes, act, actStride, nTok, y, yStride, n);
            return;
        }
        int g = 0;
        if (dot1Quad != null)
            for (; g + 4 <= groups; g += 4) dot1Quad(group + g * groupBytes, groupBytes, act, y + Rows * g, n);
        if (dot1Pair != null)
            for (; g + 2 <= groups; g += 2) dot1Pair(group + g * groupBytes, groupBytes, act, y + Rows * g, n);
        for (; g < groups; g++) dot1(group + g * groupBytes, act, y + Rows * g, n);
    }

    /// <summary>
    /// Runs a form's kernels group by group: the four-token kernel over the tokens four at a time and the one-token kernel
    /// over the rest, while the group is in cache.
    /// </summary>
    internal static void ByFours(delegate*<byte*, byte*, long, float*, long, int, bool, void> dot4, delegate*<byte*, byte*, float*, int, void> dot1,
        byte* group, int groups, long groupBytes, byte* act, long actStride, int nTok, float* y, long yStride, int n)
    {
        for (int g = 0; g < groups; g++, group += groupBytes, y += Rows)
        {
            int t = 0;
            for (; t + 4 <= nTok; t += 4) dot4(group, act + t * actStride, actStride, y + t * yStride, yStride, n, t == 0);
            for (; t < nTok; t++) dot1(group, act + t * actStride, y + t * yStride, n);
        }
    }
}
