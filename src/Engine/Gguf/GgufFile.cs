using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Text;
using TtEngine.Tensors;

namespace TtEngine.Gguf;

/// <summary>
/// A GGUF file (v2 or v3) mapped read-only. Metadata is parsed and validated at <see cref="Open"/>; tensors are
/// views into the map and are never copied. Every count, length, offset, alignment and shape is checked against the
/// file with overflow-safe arithmetic before use; a bad file throws one <see cref="GgufFormatException"/>.
/// Thread-safe for reads after Open. Dispose unmaps the file: pointers obtained from it become invalid.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    private readonly MemoryMappedFile? _mmf;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _base;
    private readonly long _length;
    private readonly Dictionary<string, Entry> _kv;
    private readonly List<string> _keys;
    private readonly List<GgufTensorInfo> _tensors;
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;

    private readonly struct Entry(GgufValueType type, GgufValueType elemType, long count, long offset, ulong raw, string? str)
    {
        public readonly GgufValueType Type = type;
        public readonly GgufValueType ElemType = elemType;
        public readonly long Count = count;     // array element count
        public readonly long Offset = offset;   // file offset of the first array element
        public readonly ulong Raw = raw;        // scalar bits (integers sign- or zero-extended, floats as their own bits)
        public readonly string? Str = str;
    }

    /// <summary>Path the file was opened from.</summary>
    public string Path { get; }
    /// <summary>GGUF version (2 or 3).</summary>
    public uint Version { get; }
    /// <summary>Tensor data alignment (general.alignment or 32).</summary>
    public uint Alignment { get; }
    /// <summary>Absolute file offset where tensor data starts.</summary>
    public long DataOffset { get; }
    /// <summary>Total file length in bytes.</summary>
    public long FileLength => _length;
    /// <summary>Metadata keys in file order.</summary>
    public IEnumerable<string> Keys => _keys;
    /// <summary>Tensor descriptions in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors;

    /// <summary>Maps and validates the file at <paramref name="path"/>.</summary>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF v2/v3 file.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        // a symbolic link (Hugging Face caches, model directories) reports its own length: measure what it points at
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
        long length = info.Length;
        if (length < 24)
            throw new GgufFormatException(path, "header", $"file length {length} is smaller than the 24-byte GGUF header");
        var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = mmf.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            return new GgufFile(path, mmf, view, length);
        }
        catch
        {
            view?.Dispose();
            mmf.Dispose();
            throw;
        }
    }

    private GgufFile(string path, MemoryMappedFile mmf, MemoryMappedViewAccessor view, long length)
    {
        Path = path;
        _mmf = mmf;
        _view = view;
        _length = length;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + view.PointerOffset;
        _kv = new Dictionary<string, Entry>(StringComparer.Ordinal);
        _keys = new List<string>();
        _tensors = new List<GgufTensorInfo>();
        _tensorsByName = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
        try
        {
            (Version, Alignment, DataOffset) = Parse();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    // ---------------------------------------------------------------- parsing

    private (uint version, uint alignment, long dataOffset) Parse()
    {
        long pos = 0;
        uint magic = ReadU32(ref pos, "magic");
        if (magic != GgufConstants.Magic)
            Fail("magic", $"0x{magic:X8} is not 'GGUF' (0x{GgufConstants.Magic:X8})");
        uint version = ReadU32(ref pos, "version");
        if (version < GgufConstants.MinVersion || version > GgufConstants.MaxVersion)
            Fail("version", $"{version} is outside the supported range {GgufConstants.MinVersion}..{GgufConstants.MaxVersion}");
        long tensorCount = ReadCount(ref pos, "tensor_count", 8 + 4 + 4 + 8); // name len + n_dims + type + offset, at least
        long kvCount = ReadCount(ref pos, "kv_count", 8 + 4 + 1);

        for (long i = 0; i < kvCount; i++)
        {
            string key = ReadString(ref pos, $"kv[{i}].key", GgufConstants.MaxKeyLength);
            string field = $"metadata '{key}'";
            if (_kv.ContainsKey(key)) Fail(field, "duplicate key");
            var type = (GgufValueType)ReadU32(ref pos, field + " type");
            Entry e = ReadValue(ref pos, field, type);
            _kv.Add(key, e);
            _keys.Add(key);
        }

        uint alignment = GgufConstants.DefaultAlignment;
        if (_kv.TryGetValue("general.alignment", out Entry al))
        {
            if (al.Type != GgufValueType.UInt32)
                Fail("metadata 'general.alignment'", $"type {al.Type} is not UInt32");
            alignment = (uint)al.Raw;
            if (alignment == 0 || (alignment & (alignment - 1)) != 0)
                Fail("metadata 'general.alignment'", $"{alignment} is not a non-zero power of two");
        }

        var infos = new (string name, GgmlType type, long[] dims, long count, long offset, long bytes)[tensorCount];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < tensorCount; i++)
        {
            string name = ReadString(ref pos, $"tensor[{i}].name", GgufConstants.MaxTensorNameLength);
            string field = $"tensor '{name}'";
            if (!seen.Add(name))
                Fail(field, "duplicate tensor name");
            uint nDims = ReadU32(ref pos, field + " n_dims");
            if (nDims > GgufConstants.MaxDims)
                Fail(field, $"n_dims={nDims} exceeds the limit {GgufConstants.MaxDims}");
            var dims = new long[nDims];
            long count = 1;
            for (int d = 0; d < nDims; d++)
            {
                ulong ne = ReadU64(ref pos, $"{field} ne[{d}]");
                if (ne > long.MaxValue)
                    Fail(field, $"ne[{d}]={ne} exceeds the limit {long.MaxValue}");
                dims[d] = (long)ne;
                if (ne != 0 && count > long.MaxValue / (long)ne)
                    Fail(field, $"element count overflows int64 at ne[{d}]={ne}");
                count *= (long)ne;
            }
            uint rawType = ReadU32(ref pos, field + " type");
            var type = (GgmlType)rawType;
            if (!GgmlTypeInfo.TryGetBlock(type, out int blockElems, out int blockBytes))
                Fail(field, $"type={rawType} is not a known GGML type");
            if (dims.Length > 0 && dims[0] % blockElems != 0)
                Fail(field, $"ne[0]={dims[0]} not a multiple of block size {blockElems} of {type}");
            long blocks = count / blockElems;
            if (blocks > long.MaxValue / blockBytes)
                Fail(field, $"byte size overflows int64 ({blocks} blocks of {blockBytes} bytes)");
            long bytes = blocks * blockBytes;
            ulong offset = ReadU64(ref pos, field + " offset");
            if (offset % alignment != 0)
                Fail(field, $"offset={offset} is not a multiple of the alignment {alignment}");
            if (offset > (ulong)_length)
                Fail(field, $"offset={offset} exceeds the file length {_length}");
            infos[i] = (name, type, dims, count, (long)offset, bytes);
        }

        long dataOffset = AlignUp(pos, alignment);
        if (dataOffset > _length && tensorCount > 0)
            Fail("tensor data", $"data section offset {dataOffset} exceeds the file length {_length}");
        foreach (var t in infos)
        {
            long room = _length - dataOffset;
            if (t.offset > room || t.bytes > room - t.offset)
                Fail($"tensor '{t.name}'", $"data [{t.offset}, +{t.bytes}) past the end of the data section (size {Math.Max(room, 0)})");
            var info = new GgufTensorInfo(t.name, t.type, t.dims, t.count, t.offset, dataOffset + t.offset, t.bytes);
            _tensors.Add(info);
            _tensorsByName.Add(t.name, info);
        }
        return (version, alignment, dataOffset);
    }

    private Entry ReadValue(ref long pos, string field, GgufValueType type)
    {
        switch (type)
        {
            case GgufValueType.String:
                return new Entry(type, type, 0, 0, 0, ReadString(ref pos, field, int.MaxValue));
            case GgufValueType.Array:
            {
                var elem = (GgufValueType)ReadU32(ref pos, field + " array element type");
                if (elem == GgufValueType.Array)
                    Fail(field, "nested arrays are not supported");
                int size = elem == GgufValueType.String ? 8 : GgufConstants.ScalarSize(elem);
                if (size == 0)
                    Fail(field, $"array element type {(uint)elem} is not a GGUF type");
                long count = ReadCount(ref pos, field + " array count", size);
                long start = pos;
                if (elem == GgufValueType.String)
                {
                    for (long i = 0; i < count; i++)
                    {
                        ulong len = ReadU64(ref pos, $"{field}[{i}] length");
                        if (len > (ulong)(_length - pos))
                            Fail($"{field}[{i}]", $"string length {len} exceeds the {_length - pos} bytes left in the file");
                        pos += (long)len;
                    }
                }
                else
                {
                    pos += count * size; // ReadCount bounded count * size by the bytes left
                }
                return new Entry(type, elem, count, start, 0, null);
            }
            default:
            {
                int size = GgufConstants.ScalarSize(type);
                if (size == 0) Fail(field, $"value type {(uint)type} is not a GGUF type");
                Need(pos, size, field);
                ulong raw = ReadScalarRaw(_base + pos, type);
                pos += size;
                if (type == GgufValueType.Bool && raw > 1) Fail(field, $"bool value {raw} is not 0 or 1");
                return new Entry(type, type, 0, 0, raw, null);
            }
        }
    }

    private static ulong ReadScalarRaw(byte* p, GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Bool => *p,
        GgufValueType.Int8 => (ulong)(long)*(sbyte*)p,
        GgufValueType.UInt16 => Unsafe.ReadUnaligned<ushort>(p),
        GgufValueType.Int16 => (ulong)(long)Unsafe.ReadUnaligned<short>(p),
        GgufValueType.UInt32 or GgufValueType.Float32 => Unsafe.ReadUnaligned<uint>(p),
        GgufValueType.Int32 => (ulong)(long)Unsafe.ReadUnaligned<int>(p),
        _ => Unsafe.ReadUnaligned<ulong>(p),
    };

    private static long AlignUp(long v, uint a) => (v + a - 1) / a * a;

    private void Need(long pos, long n, string field)
    {
        if (n > _length - pos)
            Fail(field, $"needs {n} bytes at offset {pos} but the file ends at {_length}");
    }

    private uint ReadU32(ref long pos, string field)
    {
        Need(pos, 4, field);
        uint v = Unsafe.ReadUnaligned<uint>(_base + pos);
        pos += 4;
        return v;
    }

    private ulong ReadU64(ref long pos, string field)
    {
        Need(pos, 8, field);
        ulong v = Unsafe.ReadUnaligned<ulong>(_base + pos);
        pos += 8;
        return v;
    }

    /// <summary>Reads a 64-bit count and bounds it so that count * minElementBytes fits in what is left of the file.</summary>
    private long ReadCount(ref long pos, string field, int minElementBytes)
    {
        ulong n = ReadU64(ref pos, field);
        ulong limit = (ulong)(_length - pos) / (ulong)minElementBytes;
        if (n > limit)
            Fail(field, $"{n} exceeds the limit {limit} implied by the {_length - pos} bytes left in the file");
        return (long)n;
    }

    private string ReadString(ref long pos, string field, int maxLength)
    {
        ulong len = ReadU64(ref pos, field + " length");
        if (len > (ulong)maxLength)
            Fail(field, $"string length {len} exceeds the limit {maxLength}");
        if (len > (ulong)(_length - pos))
            Fail(field, $"string length {len} exceeds the {_length - pos} bytes left in the file");
        string s = Encoding.UTF8.GetString(_base + pos, (int)len);
        pos += (long)len;
        return s;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(string field, string detail) => throw new GgufFormatException(Path, field, detail);

    // ---------------------------------------------------------------- metadata accessors

    /// <summary>True if the key exists.</summary>
    public bool ContainsKey(string key) => _kv.ContainsKey(key);

    /// <summary>The stored type of a key (for arrays, <see cref="GgufValueType.Array"/>).</summary>
    public bool TryGetValueType(string key, out GgufValueType type, out GgufValueType arrayElementType)
    {
        if (_kv.TryGetValue(key, out Entry e))
        {
            type = e.Type;
            arrayElementType = e.ElemType;
            return true;
        }
        type = arrayElementType = default;
        return false;
    }

    /// <summary>Gets a string value.</summary>
    public bool TryGetString(string key, out string value)
    {
        if (_kv.TryGetValue(key, out Entry e) && e.Type == GgufValueType.String)
        {
            value = e.Str!;
            return true;
        }
        value = "";
        return false;
    }

    /// <summary>Gets an integer value of any integer type whose value is non-negative.</summary>
    public bool TryGetUInt64(string key, out ulong value)
    {
        value = 0;
        if (!_kv.TryGetValue(key, out Entry e)) return false;
        switch (e.Type)
        {
            case GgufValueType.UInt8: case GgufValueType.UInt16: case GgufValueType.UInt32: case GgufValueType.UInt64:
                value = e.Raw;
                return true;
            case GgufValueType.Int8: case GgufValueType.Int16: case GgufValueType.Int32: case GgufValueType.Int64:
                if ((long)e.Raw < 0) return false;
                value = e.Raw;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Gets an integer value of any integer type that fits in uint32.</summary>
    public bool TryGetUInt32(string key, out uint value)
    {
        value = 0;
        if (!TryGetUInt64(key, out ulong v) || v > uint.MaxValue) return false;
        value = (uint)v;
        return true;
    }

    /// <summary>Gets an integer value of any integer type that fits in int32.</summary>
    public bool TryGetInt32(string key, out int value)
    {
        value = 0;
        if (!_kv.TryGetValue(key, out Entry e)) return false;
        long v;
        switch (e.Type)
        {
            case GgufValueType.UInt8: case GgufValueType.UInt16: case GgufValueType.UInt32: case GgufValueType.UInt64:
                if (e.Raw > int.MaxValue) return false;
                v = (long)e.Raw;
                break;
            case GgufValueType.Int8: case GgufValueType.Int16: case GgufValueType.Int32: case GgufValueType.Int64:
                v = (long)e.Raw;
                if (v < int.MinValue || v > int.MaxValue) return false;
                break;
            default:
                return false;
        }
        value = (int)v;
        return true;
    }

    /// <summary>Gets a float32 or float64 value as float32.</summary>
    public bool TryGetFloat32(string key, out float value)
    {
        value = 0;
        if (!_kv.TryGetValue(key, out Entry e)) return false;
        if (e.Type == GgufValueType.Float32) value = BitConverter.UInt32BitsToSingle((uint)e.Raw);
        else if (e.Type == GgufValueType.Float64) value = (float)BitConverter.UInt64BitsToDouble(e.Raw);
        else return false;
        return true;
    }

    /// <summary>Gets a bool value.</summary>
    public bool TryGetBool(string key, out bool value)
    {
        value = false;
        if (!_kv.TryGetValue(key, out Entry e) || e.Type != GgufValueType.Bool) return false;
        value = e.Raw != 0;
        return true;
    }

    /// <summary>Element count of an array value.</summary>
    public bool TryGetArrayLength(string key, out long length)
    {
        length = 0;
        if (!_kv.TryGetValue(key, out Entry e) || e.Type != GgufValueType.Array) return false;
        length = e.Count;
        return true;
    }

    /// <summary>Decodes a string array (allocates one string per element).</summary>
    public bool TryGetStringArray(string key, out string[] values)
    {
        values = [];
        if (!_kv.TryGetValue(key, out Entry e) || e.Type != GgufValueType.Array || e.ElemType != GgufValueType.String)
            return false;
        values = new string[e.Count];
        long pos = e.Offset;
        for (long i = 0; i < e.Count; i++)
        {
            long len = (long)Unsafe.ReadUnaligned<ulong>(_base + pos); // validated at Open
            pos += 8;
            values[i] = Encoding.UTF8.GetString(_base + pos, checked((int)len));
            pos += len;
        }
        return true;
    }

    /// <summary>Decodes a float32 (or float64) array as float32.</summary>
    public bool TryGetFloat32Array(string key, out float[] values)
    {
        values = [];
        if (!_kv.TryGetValue(key, out Entry e) || e.Type != GgufValueType.Array) return false;
        if (e.ElemType != GgufValueType.Float32 && e.ElemType != GgufValueType.Float64) return false;
        values = new float[e.Count];
        int size = GgufConstants.ScalarSize(e.ElemType);
        for (long i = 0; i < e.Count; i++)
        {
            byte* p = _base + e.Offset + i * size;
            values[i] = e.ElemType == GgufValueType.Float32 ? Unsafe.ReadUnaligned<float>(p) : (float)Unsafe.ReadUnaligned<double>(p);
        }
        return true;
    }

    /// <summary>Decodes an integer array of any integer element type whose values fit in int32.</summary>
    public bool TryGetInt32Array(string key, out int[] values)
    {
        values = [];
        if (!_kv.TryGetValue(key, out Entry e) || e.Type != GgufValueType.Array) return false;
        GgufValueType t = e.ElemType;
        if (t is GgufValueType.String or GgufValueType.Float32 or GgufValueType.Float64 or GgufValueType.Bool) return false;
        int size = GgufConstants.ScalarSize(t);
        var result = new int[e.Count];
        for (long i = 0; i < e.Count; i++)
        {
            ulong raw = ReadScalarRaw(_base + e.Offset + i * size, t);
            bool signed = t is GgufValueType.Int8 or GgufValueType.Int16 or GgufValueType.Int32 or GgufValueType.Int64;
            long v = (long)raw;
            if (signed ? v < int.MinValue || v > int.MaxValue : raw > int.MaxValue) return false;
            result[i] = (int)v;
        }
        values = result;
        return true;
    }

    // ---------------------------------------------------------------- tensors

    /// <summary>Finds a tensor by name.</summary>
    public bool TryGetTensor(string name, out GgufTensorInfo info) => _tensorsByName.TryGetValue(name, out info!);

    /// <summary>Pointer to the first byte of a tensor's data; valid until Dispose.</summary>
    public byte* GetTensorPointer(GgufTensorInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        ObjectDisposedException.ThrowIf(_base == null, this);
        return _base + info.FileOffset;
    }

    /// <summary>Span view of a tensor's data (tensors over 2 GiB must use <see cref="GetTensorPointer"/>); valid until Dispose.</summary>
    public ReadOnlySpan<byte> GetTensorBytes(GgufTensorInfo info)
    {
        if (info.ByteSize > int.MaxValue)
            throw new InvalidOperationException($"tensor '{info.Name}' is {info.ByteSize} bytes, over the 2 GiB span limit; use GetTensorPointer");
        return new ReadOnlySpan<byte>(GetTensorPointer(info), (int)info.ByteSize);
    }

    /// <summary>Sum of tensor element counts (the parameter count).</summary>
    public long ParameterCount
    {
        get
        {
            long n = 0;
            foreach (var t in _tensors) n = checked(n + t.ElementCount);
            return n;
        }
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (_base != null && _view != null)
        {
            _base = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        _view?.Dispose();
        _mmf?.Dispose();
    }
}
