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

    /// <summary>(group, act, actStride, nTok, y, yStride, n): y[t·yStride + r] = row r of the group · act[t].</summary>
    public delegate*<byte*, byte*, long, int, float*, long, int, void> Dot;

    /// <summary>The interleaved form of a matrix of this type and shape (AVX2 + FMA, rows a multiple of 8, whole blocks per row).</summary>
    public static bool TryGet(GgmlType type, int rows, int cols, out RowGroups form)
    {
        form = default;
        if (!Avx2.IsSupported || !Fma.IsSupported || rows % Rows != 0 || cols <= 0 || cols % GgmlTypeInfo.BlockElements(type) != 0)
            return false;
        switch (type)
        {
            case GgmlType.Q4_0:
                form = new RowGroups { GroupBytes = &Q4_0x8.GroupBytes, Pack = &Q4_0x8.Pack, Dot = &Q4_0x8.Dot };
                return true;
            case GgmlType.Q8_0:
                form = new RowGroups { GroupBytes = &Q8_0x8.GroupBytes, Pack = &Q8_0x8.Pack, Dot = &Q8_0x8.Dot };
                return true;
            case GgmlType.Q4_K:
                form = new RowGroups { GroupBytes = &Q4_Kx8.GroupBytes, Pack = &Q4_Kx8.Pack, Dot = &Q4_Kx8.Dot };
                return true;
            case GgmlType.Q6_K:
                form = new RowGroups { GroupBytes = &Q6_Kx8.GroupBytes, Pack = &Q6_Kx8.Pack, Dot = &Q6_Kx8.Dot };
                return true;
            default:
                return false;
        }
    }
}
