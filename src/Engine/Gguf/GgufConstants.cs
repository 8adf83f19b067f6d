namespace TtEngine.Gguf;

/// <summary>GGUF metadata value types, numbered as in the GGUF specification.</summary>
public enum GgufValueType : uint
{
    /// <summary>8-bit unsigned integer.</summary>
    UInt8 = 0,
    /// <summary>8-bit signed integer.</summary>
    Int8 = 1,
    /// <summary>16-bit unsigned integer.</summary>
    UInt16 = 2,
    /// <summary>16-bit signed integer.</summary>
    Int16 = 3,
    /// <summary>32-bit unsigned integer.</summary>
    UInt32 = 4,
    /// <summary>32-bit signed integer.</summary>
    Int32 = 5,
    /// <summary>IEEE 754 binary32.</summary>
    Float32 = 6,
    /// <summary>One byte, 0 or 1.</summary>
    Bool = 7,
    /// <summary>UTF-8 string with a 64-bit length prefix.</summary>
    String = 8,
    /// <summary>Typed array with a 64-bit count.</summary>
    Array = 9,
    /// <summary>64-bit unsigned integer.</summary>
    UInt64 = 10,
    /// <summary>64-bit signed integer.</summary>
    Int64 = 11,
    /// <summary>IEEE 754 binary64.</summary>
    Float64 = 12,
}

/// <summary>Limits the reader enforces; all in one place so error messages and tests agree.</summary>
public static class GgufConstants
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;
    /// <summary>Oldest supported version (v1 used 32-bit counts and is not supported).</summary>
    public const uint MinVersion = 2;
    /// <summary>Newest supported version.</summary>
    public const uint MaxVersion = 3;
    /// <summary>Tensor data alignment when <c>general.alignment</c> is absent.</summary>
    public const uint DefaultAlignment = 32;
    /// <summary>Maximum tensor rank (GGML_MAX_DIMS).</summary>
    public const int MaxDims = 4;
    /// <summary>Maximum length of a tensor name (GGML_MAX_NAME - 1).</summary>
    public const int MaxTensorNameLength = 63;
    /// <summary>Maximum length of a metadata key.</summary>
    public const int MaxKeyLength = 65535;

    /// <summary>Byte size of one element of a scalar metadata type, or 0 for string/array.</summary>
    public static int ScalarSize(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };
}
