namespace TtEngine.Tensors;

/// <summary>GGML tensor element types, numbered exactly as ggml.h numbers them (the value stored in GGUF).</summary>
public enum GgmlType : uint
{
#pragma warning disable CS1591 // names are the GGML names
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35,
#pragma warning restore CS1591
}

/// <summary>Block geometry of each GGML type (elements per block, bytes per block), as in ggml's type_traits.</summary>
public static class GgmlTypeInfo
{
    /// <summary>Returns false for a type number this build does not know the size of.</summary>
    public static bool TryGetBlock(GgmlType type, out int blockElements, out int blockBytes)
    {
        (blockElements, blockBytes) = type switch
        {
            GgmlType.F32 => (1, 4),
            GgmlType.F16 => (1, 2),
            GgmlType.BF16 => (1, 2),
            GgmlType.Q4_0 => (32, 18),
            GgmlType.Q4_1 => (32, 20),
            GgmlType.Q5_0 => (32, 22),
            GgmlType.Q5_1 => (32, 24),
            GgmlType.Q8_0 => (32, 34),
            GgmlType.Q8_1 => (32, 36),
            GgmlType.Q2_K => (256, 84),
            GgmlType.Q3_K => (256, 110),
            GgmlType.Q4_K => (256, 144),
            GgmlType.Q5_K => (256, 176),
            GgmlType.Q6_K => (256, 210),
            GgmlType.Q8_K => (256, 292),
            GgmlType.IQ2_XXS => (256, 66),
            GgmlType.IQ2_XS => (256, 74),
            GgmlType.IQ3_XXS => (256, 98),
            GgmlType.IQ1_S => (256, 50),
            GgmlType.IQ4_NL => (32, 18),
            GgmlType.IQ3_S => (256, 110),
            GgmlType.IQ2_S => (256, 82),
            GgmlType.IQ4_XS => (256, 136),
            GgmlType.I8 => (1, 1),
            GgmlType.I16 => (1, 2),
            GgmlType.I32 => (1, 4),
            GgmlType.I64 => (1, 8),
            GgmlType.F64 => (1, 8),
            GgmlType.IQ1_M => (256, 56),
            GgmlType.TQ1_0 => (256, 54),
            GgmlType.TQ2_0 => (256, 66),
            _ => (0, 0),
        };
        return blockElements != 0;
    }

    /// <summary>Elements per block; throws for an unknown type.</summary>
    public static int BlockElements(GgmlType type) =>
        TryGetBlock(type, out int e, out _) ? e : throw new ArgumentOutOfRangeException(nameof(type), type, "unknown GGML type");

    /// <summary>Bytes per block; throws for an unknown type.</summary>
    public static int BlockBytes(GgmlType type) =>
        TryGetBlock(type, out _, out int b) ? b : throw new ArgumentOutOfRangeException(nameof(type), type, "unknown GGML type");

    /// <summary>Bytes of a row of <paramref name="elements"/> elements (must be a multiple of the block size).</summary>
    public static long RowBytes(GgmlType type, long elements)
    {
        TryGetBlock(type, out int e, out int b);
        if (e == 0) throw new ArgumentOutOfRangeException(nameof(type), type, "unknown GGML type");
        if (elements % e != 0) throw new ArgumentException($"{elements} elements is not a multiple of the {type} block size {e}");
        return checked(elements / e * b);
    }
}
