using System.Buffers.Binary;
using System.Text;
using TtEngine.Tensors;

namespace TtEngine.Gguf;

/// <summary>
/// Writes GGUF v3 files: metadata in the order added, then tensor infos, then aligned tensor data. Used by tests
/// (random-weight models) and by <c>ttctl engine synth</c>. Tensor data can be given as bytes or as a callback that
/// streams exactly <see cref="GgmlTypeInfo.RowBytes"/>-sized data, so multi-GB files never sit in memory.
/// </summary>
public sealed class GgufWriter
{
    private readonly MemoryStream _kv = new();
    private int _kvCount;
    private readonly List<(string name, GgmlType type, long[] dims, long bytes, Action<Stream> write)> _tensors = new();
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    /// <summary>Creates a writer with the given tensor data alignment (written as general.alignment if not 32).</summary>
    public GgufWriter(uint alignment = GgufConstants.DefaultAlignment)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(alignment));
        Alignment = alignment;
        if (alignment != GgufConstants.DefaultAlignment) AddUInt32("general.alignment", alignment);
    }

    /// <summary>Tensor data alignment.</summary>
    public uint Alignment { get; }

    private void Key(string key, GgufValueType type)
    {
        if (!_keys.Add(key)) throw new ArgumentException($"duplicate metadata key '{key}'", nameof(key));
        WriteStr(_kv, key);
        U32(_kv, (uint)type);
        _kvCount++;
    }

    /// <summary>Adds a string value.</summary>
    public void AddString(string key, string value) { Key(key, GgufValueType.String); WriteStr(_kv, value); }
    /// <summary>Adds a uint32 value.</summary>
    public void AddUInt32(string key, uint value) { Key(key, GgufValueType.UInt32); U32(_kv, value); }
    /// <summary>Adds an int32 value.</summary>
    public void AddInt32(string key, int value) { Key(key, GgufValueType.Int32); U32(_kv, (uint)value); }
    /// <summary>Adds a uint64 value.</summary>
    public void AddUInt64(string key, ulong value) { Key(key, GgufValueType.UInt64); U64(_kv, value); }
    /// <summary>Adds a float32 value.</summary>
    public void AddFloat32(string key, float value) { Key(key, GgufValueType.Float32); U32(_kv, BitConverter.SingleToUInt32Bits(value)); }
    /// <summary>Adds a bool value.</summary>
    public void AddBool(string key, bool value) { Key(key, GgufValueType.Bool); _kv.WriteByte(value ? (byte)1 : (byte)0); }

    /// <summary>Adds a string array.</summary>
    public void AddStringArray(string key, IReadOnlyList<string> values)
    {
        Key(key, GgufValueType.Array);
        U32(_kv, (uint)GgufValueType.String);
        U64(_kv, (ulong)values.Count);
        foreach (string v in values) WriteStr(_kv, v);
    }

    /// <summary>Adds a float32 array.</summary>
    public void AddFloat32Array(string key, ReadOnlySpan<float> values)
    {
        Key(key, GgufValueType.Array);
        U32(_kv, (uint)GgufValueType.Float32);
        U64(_kv, (ulong)values.Length);
        foreach (float v in values) U32(_kv, BitConverter.SingleToUInt32Bits(v));
    }

    /// <summary>Adds an int32 array.</summary>
    public void AddInt32Array(string key, ReadOnlySpan<int> values)
    {
        Key(key, GgufValueType.Array);
        U32(_kv, (uint)GgufValueType.Int32);
        U64(_kv, (ulong)values.Length);
        foreach (int v in values) U32(_kv, (uint)v);
    }

    /// <summary>Adds a tensor whose encoded bytes are given (copied now).</summary>
    public void AddTensor(string name, GgmlType type, long[] dims, ReadOnlySpan<byte> data)
    {
        byte[] copy = data.ToArray();
        AddTensor(name, type, dims, s => s.Write(copy));
        long expected = ExpectedBytes(type, dims);
        if (copy.Length != expected)
            throw new ArgumentException($"tensor '{name}': {copy.Length} bytes given, {expected} expected for {type} [{string.Join(",", dims)}]");
    }

    /// <summary>Adds an F32 tensor.</summary>
    public void AddTensor(string name, long[] dims, ReadOnlySpan<float> data) =>
        AddTensor(name, GgmlType.F32, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));

    /// <summary>Adds a tensor whose bytes <paramref name="write"/> streams later, during <see cref="WriteTo(Stream)"/>.</summary>
    public void AddTensor(string name, GgmlType type, long[] dims, Action<Stream> write)
    {
        if (dims.Length is 0 or > GgufConstants.MaxDims) throw new ArgumentException("1..4 dims required", nameof(dims));
        if (Encoding.UTF8.GetByteCount(name) > GgufConstants.MaxTensorNameLength) throw new ArgumentException("name too long", nameof(name));
        if (_tensors.Exists(t => t.name == name)) throw new ArgumentException($"duplicate tensor '{name}'", nameof(name));
        _tensors.Add((name, type, (long[])dims.Clone(), ExpectedBytes(type, dims), write));
    }

    private static long ExpectedBytes(GgmlType type, long[] dims)
    {
        long n = 1;
        foreach (long d in dims) n = checked(n * d);
        return GgmlTypeInfo.RowBytes(type, n);
    }

    /// <summary>Writes the file to <paramref name="path"/>.</summary>
    public void WriteTo(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        WriteTo(fs);
    }

    /// <summary>Writes the whole file to a stream.</summary>
    public void WriteTo(Stream s)
    {
        var head = new MemoryStream();
        U32(head, GgufConstants.Magic);
        U32(head, 3);
        U64(head, (ulong)_tensors.Count);
        U64(head, (ulong)_kvCount);
        _kv.Position = 0;
        _kv.CopyTo(head);
        long offset = 0;
        var offsets = new long[_tensors.Count];
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            WriteStr(head, t.name);
            U32(head, (uint)t.dims.Length);
            foreach (long d in t.dims) U64(head, (ulong)d);
            U32(head, (uint)t.type);
            offsets[i] = offset;
            U64(head, (ulong)offset);
            offset = Align(offset + t.bytes);
        }
        Pad(head, Align(head.Length) - head.Length);
        head.Position = 0;
        head.CopyTo(s);
        long written = 0;
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            Pad(s, offsets[i] - written);
            long before = s.CanSeek ? s.Position : -1;
            t.write(s);
            if (before >= 0 && s.Position - before != t.bytes)
                throw new InvalidOperationException($"tensor '{t.name}': callback wrote {s.Position - before} bytes, {t.bytes} expected");
            written = offsets[i] + t.bytes;
        }
    }

    private long Align(long v) => (v + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream s, long n)
    {
        for (long i = 0; i < n; i++) s.WriteByte(0);
    }

    private static void U32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    private static void U64(Stream s, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteStr(Stream s, string v)
    {
        byte[] b = Encoding.UTF8.GetBytes(v);
        U64(s, (ulong)b.Length);
        s.Write(b);
    }
}
