using System.Text;

namespace TtBundles.Tar;

/// <summary>Writes ustar entries (regular files only) to a sequential stream, with a pax size record for files ≥ 8 GiB.</summary>
internal sealed class UstarWriter
{
    private readonly Stream _out;
    private readonly long _mtime;

    public UstarWriter(Stream output, DateTimeOffset mtime)
    {
        _out = output;
        _mtime = Math.Max(0, mtime.ToUnixTimeSeconds());
    }

    /// <summary>Writes the header(s) for a regular file of <paramref name="size"/> bytes. The caller then writes exactly
    /// that many bytes and calls <see cref="WritePaddingAsync"/>.</summary>
    public async Task WriteHeaderAsync(string name, long size, CancellationToken ct)
    {
        if (BundlePaths.Check(name) is { } why) throw new ArgumentException($"tar entry name '{name}' {why}", nameof(name));
        if (size > UstarFormat.MaxOctalSize)
        {
            byte[] pax = UstarFormat.PaxRecord("size", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await WriteRawHeaderAsync("PaxHeaders/" + (name.Length > 88 ? name[..88] : name), pax.Length, UstarFormat.TypePax, 0, ct);
            await _out.WriteAsync(pax, ct);
            await WritePaddingAsync(pax.Length, ct);
        }
        await WriteRawHeaderAsync(name, size > UstarFormat.MaxOctalSize ? 0 : size, UstarFormat.TypeRegular, 0x1a4 /* 0644 */, ct);
    }

    public async Task WriteFileAsync(string name, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await WriteHeaderAsync(name, data.Length, ct);
        await _out.WriteAsync(data, ct);
        await WritePaddingAsync(data.Length, ct);
    }

    public ValueTask WritePaddingAsync(long size, CancellationToken ct)
    {
        int pad = (int)UstarFormat.Padding(size);
        return pad == 0 ? ValueTask.CompletedTask : _out.WriteAsync(new byte[pad], ct);
    }

    /// <summary>The end-of-archive marker: two zero blocks.</summary>
    public ValueTask WriteEndAsync(CancellationToken ct) => _out.WriteAsync(new byte[2 * UstarFormat.BlockSize], ct);

    private ValueTask WriteRawHeaderAsync(string name, long size, byte type, int mode, CancellationToken ct)
    {
        var h = new byte[UstarFormat.BlockSize];
        Encoding.UTF8.GetBytes(name, h.AsSpan(UstarFormat.NameOff, UstarFormat.NameLen));
        UstarFormat.WriteOctal(h.AsSpan(UstarFormat.ModeOff, UstarFormat.ModeLen), mode == 0 ? 0x1a4 : mode);
        UstarFormat.WriteOctal(h.AsSpan(UstarFormat.UidOff, UstarFormat.UidLen), 0);
        UstarFormat.WriteOctal(h.AsSpan(UstarFormat.GidOff, UstarFormat.GidLen), 0);
        UstarFormat.WriteOctal(h.AsSpan(UstarFormat.SizeOff, UstarFormat.SizeLen), size);
        UstarFormat.WriteOctal(h.AsSpan(UstarFormat.MtimeOff, UstarFormat.MtimeLen), _mtime);
        h[UstarFormat.TypeOff] = type;
        UstarFormat.Magic.CopyTo(h.AsSpan(UstarFormat.MagicOff));
        UstarFormat.Version.CopyTo(h.AsSpan(UstarFormat.MagicOff + 6));
        UstarFormat.WriteOctal(h.AsSpan(UstarFormat.DevMajorOff, UstarFormat.DevLen), 0);
        UstarFormat.WriteOctal(h.AsSpan(UstarFormat.DevMinorOff, UstarFormat.DevLen), 0);
        int sum = UstarFormat.Checksum(h);
        // Checksum: six octal digits, NUL, space (the traditional layout).
        UstarFormat.WriteOctal(h.AsSpan(UstarFormat.ChksumOff, 7), sum);
        h[UstarFormat.ChksumOff + 7] = (byte)' ';
        return _out.WriteAsync(h, ct);
    }
}
