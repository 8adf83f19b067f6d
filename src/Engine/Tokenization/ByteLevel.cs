namespace TtEngine.Tokenization;

/// <summary>GPT-2's reversible byte ↔ printable-character map used by byte-level BPE vocabularies.</summary>
internal static class ByteLevel
{
    public static readonly char[] ByteToChar = Build();
    public static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, (byte)b)).ToDictionary(t => t.c, t => t.Item2);

    private static char[] Build()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/> mapped to byte-level characters.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        int max = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> buf = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int n = System.Text.Encoding.UTF8.GetBytes(text, buf);
        return string.Create(n, buf[..n].ToArray(), static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++) dst[i] = ByteToChar[src[i]];
        });
    }

    /// <summary>Byte-level characters back to bytes; characters outside the map are kept as their UTF-8.</summary>
    public static byte[] Decode(string piece)
    {
        var r = new List<byte>(piece.Length);
        foreach (char c in piece)
        {
            if (CharToByte.TryGetValue(c, out byte b)) r.Add(b);
            else r.AddRange(System.Text.Encoding.UTF8.GetBytes(c.ToString()));
        }
        return r.ToArray();
    }
}
