namespace TtEngine.Gguf;

/// <summary>
/// The one error a malformed GGUF file produces. The message names the file, the field, the value found and the limit
/// it broke, e.g. <c>tensor 'blk.3.attn_q.weight': ne[0]=4095 not a multiple of block size 32</c>.
/// </summary>
public sealed class GgufFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GgufFormatException(string? path, string field, string detail)
        : base(path is null ? $"GGUF: {field}: {detail}" : $"GGUF '{path}': {field}: {detail}")
    {
        Path = path;
        Field = field;
    }

    /// <summary>The file being read, when known.</summary>
    public string? Path { get; }

    /// <summary>The field (header item, metadata key or tensor) that was bad.</summary>
    public string Field { get; }
}
