using System.Text;

namespace TtBundles.Tar;

/// <summary>One entry header, after any pax record was applied.</summary>
/// <param name="Name">Entry path (already checked by <see cref="BundlePaths.Check"/>).</param>
/// <param name="Size">Data size in bytes.</param>
/// <param name="HeaderOffset">Stream offset of the entry's first header block (its pax header, if any).</param>
internal readonly record struct TarEntry(string Name, long Size, long HeaderOffset);

/// <summary>
/// Reads the tar subset of <see cref="UstarFormat"/> strictly sequentially. Every malformed or hostile header throws a
/// <see cref="BundleException"/> naming the entry or the offset. The reader never seeks and never buffers entry data.
/// </summary>
internal sealed class UstarReader
{
    private readonly Stream _in;
    private readonly byte[] _block = new byte[UstarFormat.BlockSize];
    private long _remaining;      // data bytes left in the current entry
    private long _padding;        // padding after the current entry's data
    private string _current = "";

    public UstarReader(Stream input) => _in = input;

    /// <summary>Bytes consumed from the stream so far.</summary>
    public long Position { get; private set; }

    /// <summary>Offset of the end-of-archive marker, once it was read.</summary>
    public long EndMarkerOffset { get; private set; } = -1;

    /// <summary>Data bytes not yet read from the current entry.</summary>
    public long Remaining => _remaining;

    /// <summary>
    /// Advances to the next entry, skipping any unread data of the current one. Returns null at a valid
    /// end-of-archive marker (two zero blocks, then nothing but zeros to the end of the stream).
    /// </summary>
    public async ValueTask<TarEntry?> NextAsync(CancellationToken ct)
    {
        await SkipAsync(_remaining, ct, mustBeZero: false);
        await SkipAsync(_padding, ct, mustBeZero: true);
        _remaining = _padding = 0;

        long headerOffset = Position;
        if (!await ReadHeaderAsync(ct)) return null;
        string? paxPath = null;
        long? paxSize = null;
        if (_block[UstarFormat.TypeOff] == UstarFormat.TypePax)
        {
            string paxName = HeaderName();
            _current = paxName;
            long paxLen = HeaderSize(paxName);
            if (paxLen > BundleConstants.MaxPaxHeaderBytes)
                BundleThrow.Entry(paxName, $"pax header size {paxLen} exceeds limit {BundleConstants.MaxPaxHeaderBytes}");
            var pax = new byte[paxLen];
            await ReadExactAsync(pax, paxName, ct);
            await SkipAsync(UstarFormat.Padding(paxLen), ct, mustBeZero: true);
            ParsePax(pax, paxName, out paxPath, out paxSize);
            if (!await ReadHeaderAsync(ct))
                BundleThrow.Entry(paxName, "pax header is followed by the end-of-archive marker");
            if (_block[UstarFormat.TypeOff] == UstarFormat.TypePax)
                BundleThrow.Entry(paxName, "two pax headers in a row");
        }

        string name = paxPath ?? HeaderName();
        byte type = _block[UstarFormat.TypeOff];
        if (type is not (UstarFormat.TypeRegular or UstarFormat.TypeRegularOld))
            BundleThrow.Entry(name, $"is a {UstarFormat.TypeName(type)}; only regular files are allowed");
        if (BundlePaths.Check(name) is { } why) BundleThrow.Entry(name, $"path {why}");
        long size = HeaderSize(name);
        if (paxSize is { } ps) size = ps;
        _remaining = size;
        _padding = UstarFormat.Padding(size);
        _current = name;
        return new TarEntry(name, size, headerOffset);
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes of the current entry's data; 0 at its end.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct)
    {
        if (_remaining == 0) return 0;
        if (buffer.Length > _remaining) buffer = buffer[..(int)_remaining];
        int n = await _in.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
        Position += n;
        _remaining -= n;
        if (n < buffer.Length)
            BundleThrow.Entry(_current, $"truncated: data ends at offset {Position} with {_remaining} bytes missing");
        return n;
    }

    /// <summary>Reads exactly the current entry's data into <paramref name="buffer"/> (sized by the caller).</summary>
    public async ValueTask ReadExactAsync(Memory<byte> buffer, string entry, CancellationToken ct)
    {
        int n = await _in.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
        Position += n;
        if (n < buffer.Length)
            BundleThrow.Entry(entry, $"truncated: data ends at offset {Position} with {buffer.Length - n} bytes missing");
        if (_remaining > 0) _remaining -= n;
    }

    private async ValueTask SkipAsync(long count, CancellationToken ct, bool mustBeZero)
    {
        var buf = count <= UstarFormat.BlockSize ? _block : new byte[(int)Math.Min(count, 64 * 1024)];
        while (count > 0)
        {
            int want = (int)Math.Min(count, buf.Length);
            int n = await _in.ReadAtLeastAsync(buf.AsMemory(0, want), want, throwOnEndOfStream: false, ct);
            Position += n;
            count -= n;
            if (n < want) BundleThrow.Entry(_current, $"truncated: stream ends at offset {Position} inside the entry or its padding");
            if (mustBeZero && buf.AsSpan(0, n).IndexOfAnyExcept((byte)0) is int i and >= 0)
                BundleThrow.Entry(_current, $"non-zero padding byte at offset {Position - n + i}");
        }
    }

    /// <summary>Reads one header block into _block. False at a valid end-of-archive marker.</summary>
    private async ValueTask<bool> ReadHeaderAsync(CancellationToken ct)
    {
        long at = Position;
        int n = await _in.ReadAtLeastAsync(_block, UstarFormat.BlockSize, throwOnEndOfStream: false, ct);
        Position += n;
        if (n == 0) BundleThrow.Format($"truncated tar: stream ends at offset {at} without an end-of-archive marker");
        if (n < UstarFormat.BlockSize) BundleThrow.Format($"truncated tar: header at offset {at} is incomplete ({n} of 512 bytes)");
        if (_block.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            EndMarkerOffset = at;
            await ReadEndAsync(ct);
            return false;
        }
        if (!UstarFormat.IsCanonicalChecksum(_block, UstarFormat.Checksum(_block)))
            BundleThrow.Format($"tar header at offset {at}: bad checksum (not a tar file, or corrupted)");
        if (!_block.AsSpan(UstarFormat.MagicOff, 6).SequenceEqual(UstarFormat.Magic) ||
            !_block.AsSpan(UstarFormat.MagicOff + 6, 2).SequenceEqual(UstarFormat.Version))
            BundleThrow.Format($"tar header at offset {at}: not a POSIX ustar header (GNU/v7 tar formats are not accepted)");
        return true;
    }

    private async ValueTask ReadEndAsync(CancellationToken ct)
    {
        long at = Position;
        int n = await _in.ReadAtLeastAsync(_block, UstarFormat.BlockSize, throwOnEndOfStream: false, ct);
        Position += n;
        if (n < UstarFormat.BlockSize || _block.AsSpan().IndexOfAnyExcept((byte)0) >= 0)
            BundleThrow.Format($"tar: end-of-archive marker at offset {at - UstarFormat.BlockSize} is incomplete");
        // Writers may pad to a record size; tolerate zeros, refuse anything else.
        long trailing = 0;
        while (true)
        {
            n = await _in.ReadAsync(_block, ct);
            if (n == 0) return;
            if (_block.AsSpan(0, n).IndexOfAnyExcept((byte)0) is int i and >= 0)
                BundleThrow.Format($"tar: unexpected data after the end-of-archive marker at offset {Position + i}");
            Position += n;
            trailing += n;
            if (trailing > BundleConstants.MaxTrailingBytes)
                BundleThrow.Format($"tar: more than {BundleConstants.MaxTrailingBytes} bytes after the end-of-archive marker");
        }
    }

    private string HeaderName()
    {
        string name = UstarFormat.ReadString(_block.AsSpan(UstarFormat.NameOff, UstarFormat.NameLen));
        string prefix = UstarFormat.ReadString(_block.AsSpan(UstarFormat.PrefixOff, UstarFormat.PrefixLen));
        return prefix.Length > 0 ? prefix + "/" + name : name;
    }

    private long HeaderSize(string name)
    {
        if (!UstarFormat.TryParseOctal(_block.AsSpan(UstarFormat.SizeOff, UstarFormat.SizeLen), out long size))
            BundleThrow.Entry(name, "size field is not octal (base-256 sizes are not accepted; use a pax size record)");
        return size;
    }

    private static void ParsePax(ReadOnlySpan<byte> data, string entry, out string? path, out long? size)
    {
        path = null;
        size = null;
        while (data.Length > 0)
        {
            int sp = data.IndexOf((byte)' ');
            long len = 0;
            if (sp <= 0 || !UstarFormat.TryParseDecimal(data[..sp], out len) || len <= sp + 1 || len > data.Length || data[(int)len - 1] != '\n')
                BundleThrow.Entry(entry, "malformed pax record");
            var rec = data[(sp + 1)..((int)len - 1)];
            int eq = rec.IndexOf((byte)'=');
            if (eq <= 0) BundleThrow.Entry(entry, "malformed pax record (no '=')");
            string key = Encoding.UTF8.GetString(rec[..eq]);
            var value = rec[(eq + 1)..];
            switch (key)
            {
                case "path":
                    path = Encoding.UTF8.GetString(value);
                    break;
                case "size":
                    if (!UstarFormat.TryParseDecimal(value, out long s)) BundleThrow.Entry(entry, "pax size is not a decimal number");
                    size = s;
                    break;
                // Harmless metadata other writers (GNU tar --format=pax) add; ignored.
                case "mtime" or "atime" or "ctime" or "uid" or "gid" or "uname" or "gname" or "comment":
                    break;
                default:
                    BundleThrow.Entry(entry, $"pax key '{BundleThrow.Printable(key)}' is not supported");
                    break;
            }
            data = data[(int)len..];
        }
    }
}
