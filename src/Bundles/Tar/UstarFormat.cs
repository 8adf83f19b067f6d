using System.Buffers.Text;
using System.Text;

namespace TtBundles.Tar;

/// <summary>
/// The subset of POSIX tar (IEEE 1003.1 ustar + pax extended headers) that bundles use. We read and write it ourselves
/// rather than through System.Formats.Tar so that every hostile case (links, devices, GNU extensions, base-256 sizes,
/// bad checksums, truncation) is refused with a message naming the entry, and so that reading is strictly sequential
/// over a non-seekable stream (an HTTP request body).
/// </summary>
internal static class UstarFormat
{
    public const int BlockSize = 512;

    // Offsets and lengths of the header fields (POSIX ustar).
    public const int NameOff = 0, NameLen = 100;
    public const int ModeOff = 100, ModeLen = 8;
    public const int UidOff = 108, UidLen = 8;
    public const int GidOff = 116, GidLen = 8;
    public const int SizeOff = 124, SizeLen = 12;
    public const int MtimeOff = 136, MtimeLen = 12;
    public const int ChksumOff = 148, ChksumLen = 8;
    public const int TypeOff = 156;
    public const int LinkOff = 157, LinkLen = 100;
    public const int MagicOff = 257; // "ustar\0" then version "00"
    public const int UnameOff = 265, UnameLen = 32;
    public const int GnameOff = 297, GnameLen = 32;
    public const int DevMajorOff = 329, DevMinorOff = 337, DevLen = 8;
    public const int PrefixOff = 345, PrefixLen = 155;

    public const byte TypeRegular = (byte)'0';
    public const byte TypeRegularOld = 0;
    public const byte TypePax = (byte)'x';

    /// <summary>Largest size a 12-byte octal field holds (11 digits): 8 GiB - 1. Larger payloads get a pax size record.</summary>
    public const long MaxOctalSize = (1L << 33) - 1;

    public static ReadOnlySpan<byte> Magic => "ustar\0"u8;
    public static ReadOnlySpan<byte> Version => "00"u8;

    /// <summary>Sum of header bytes with the checksum field counted as spaces.</summary>
    public static int Checksum(ReadOnlySpan<byte> header)
    {
        int sum = 0;
        for (int i = 0; i < BlockSize; i++)
            sum += i is >= ChksumOff and < ChksumOff + ChksumLen ? ' ' : header[i];
        return sum;
    }

    public static long Padding(long size) => (BlockSize - (size % BlockSize)) % BlockSize;

    /// <summary>Human name of a type flag, for error messages.</summary>
    public static string TypeName(byte flag) => flag switch
    {
        (byte)'1' => "hard link",
        (byte)'2' => "symbolic link",
        (byte)'3' => "character device",
        (byte)'4' => "block device",
        (byte)'5' => "directory",
        (byte)'6' => "FIFO",
        (byte)'7' => "contiguous file",
        (byte)'g' => "pax global header",
        (byte)'L' or (byte)'K' => "GNU long name/link",
        (byte)'S' => "GNU sparse file",
        (byte)'V' => "GNU volume label",
        (byte)'M' => "GNU multi-volume continuation",
        _ => $"type 0x{flag:x2}",
    };

    /// <summary>Writes a pax record "LEN key=value\n", where LEN counts the whole record.</summary>
    public static byte[] PaxRecord(string key, string value)
    {
        int body = Encoding.UTF8.GetByteCount(key) + 1 + Encoding.UTF8.GetByteCount(value) + 1 + 1; // key '=' value '\n' ' '
        int len = body + 1;
        while (len.ToString(System.Globalization.CultureInfo.InvariantCulture).Length + body != len) len++;
        return Encoding.UTF8.GetBytes($"{len} {key}={value}\n");
    }

    /// <summary>Parses an octal numeric field (leading spaces, then digits, then NUL/space). False when malformed.</summary>
    public static bool TryParseOctal(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        if (field.Length > 0 && (field[0] & 0x80) != 0) return false; // base-256 (GNU) not accepted
        // No leading spaces: POSIX writes zero-padded octal, and accepting variants would let a corrupted field pass.
        int i = 0;
        int digits = 0;
        for (; i < field.Length; i++)
        {
            byte b = field[i];
            if (b is (byte)' ' or 0) break;
            if (b < '0' || b > '7') return false;
            if (value > (long.MaxValue >> 3)) return false;
            value = (value << 3) | (long)(b - '0');
            digits++;
        }
        for (; i < field.Length; i++)
            if (field[i] is not ((byte)' ' or 0)) return false;
        return digits > 0 || field.IndexOfAnyExcept((byte)0, (byte)' ') < 0;
    }

    /// <summary>
    /// True when the checksum field has the layout every common writer uses (GNU tar, libarchive, Python, Go):
    /// six octal digits, NUL, space, holding <paramref name="sum"/>. Strictness here makes any bit flip in the field visible.
    /// </summary>
    public static bool IsCanonicalChecksum(ReadOnlySpan<byte> header, int sum)
    {
        var f = header.Slice(ChksumOff, ChksumLen);
        if (f[6] != 0 || f[7] != ' ') return false;
        long v = 0;
        for (int i = 0; i < 6; i++)
        {
            if (f[i] < '0' || f[i] > '7') return false;
            v = (v << 3) | (long)(f[i] - '0');
        }
        return v == sum;
    }

    /// <summary>Writes <paramref name="value"/> as zero-padded octal followed by NUL.</summary>
    public static void WriteOctal(Span<byte> field, long value)
    {
        int digits = field.Length - 1;
        for (int i = digits - 1; i >= 0; i--) { field[i] = (byte)('0' + (value & 7)); value >>= 3; }
        if (value != 0) throw new ArgumentOutOfRangeException(nameof(value), "does not fit the octal field");
        field[digits] = 0;
    }

    /// <summary>Reads a NUL-terminated string field.</summary>
    public static string ReadString(ReadOnlySpan<byte> field)
    {
        int n = field.IndexOf((byte)0);
        if (n < 0) n = field.Length;
        return Encoding.UTF8.GetString(field[..n]);
    }

    public static bool TryParseDecimal(ReadOnlySpan<byte> s, out long value) =>
        Utf8Parser.TryParse(s, out value, out int consumed) && consumed == s.Length && value >= 0 && s.Length > 0 && s[0] != '+' && s[0] != '-';
}
