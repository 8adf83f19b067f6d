using TtEngine.Tensors;

namespace TtEngine.Gguf;

/// <summary>
/// One tensor described by a GGUF file: a typed, shaped view of bytes in the mapped file. GGML order: <c>Dimensions[0]</c>
/// (ne0) is the contiguous row length, so a <c>[64, 512]</c> matrix is 512 rows of 64 elements.
/// </summary>
public sealed class GgufTensorInfo
{
    internal GgufTensorInfo(string name, GgmlType type, long[] dims, long elementCount, long offset, long fileOffset, long byteSize)
    {
        Name = name;
        Type = type;
        _dims = dims;
        ElementCount = elementCount;
        Offset = offset;
        FileOffset = fileOffset;
        ByteSize = byteSize;
    }

    private readonly long[] _dims;

    /// <summary>Tensor name, e.g. <c>blk.0.attn_q.weight</c>.</summary>
    public string Name { get; }
    /// <summary>Element type.</summary>
    public GgmlType Type { get; }
    /// <summary>Shape, ne0 first (ne0 = contiguous row length).</summary>
    public IReadOnlyList<long> Dimensions => _dims;
    /// <summary>Product of all dimensions.</summary>
    public long ElementCount { get; }
    /// <summary>Offset relative to the start of the tensor data section.</summary>
    public long Offset { get; }
    /// <summary>Absolute offset in the file.</summary>
    public long FileOffset { get; }
    /// <summary>Bytes occupied by the tensor's data.</summary>
    public long ByteSize { get; }
    /// <summary>Elements per row (ne0).</summary>
    public long RowLength => _dims.Length == 0 ? 1 : _dims[0];
    /// <summary>Number of rows (product of ne1..).</summary>
    public long RowCount => RowLength == 0 ? 0 : ElementCount / RowLength;

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Type} [{string.Join(", ", _dims)}]";
}
