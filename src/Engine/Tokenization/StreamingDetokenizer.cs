using System.Text;

namespace TtEngine.Tokenization;

/// <summary>
/// Turns a stream of token ids into text pieces without ever splitting a UTF-8 character: bytes of an incomplete
/// character are held until the next token completes it (or <see cref="Flush"/> gives up and emits U+FFFD).
/// </summary>
public sealed class StreamingDetokenizer
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _renderSpecial;
    private readonly byte[] _pending = new byte[8];
    private int _pendingCount;
    private bool _atStart = true;
    private byte[] _buf = new byte[64];

    /// <summary>Creates a detokenizer; <paramref name="stripLeadingSpace"/> drops SentencePiece's prefix space at the start.</summary>
    public StreamingDetokenizer(Tokenizer tokenizer, bool renderSpecial = false, bool stripLeadingSpace = true)
    {
        _tokenizer = tokenizer;
        _renderSpecial = renderSpecial;
        _atStart = stripLeadingSpace && tokenizer.StripsLeadingSpace;
    }

    /// <summary>Adds one token; returns the text that is now complete (possibly empty).</summary>
    public string Push(int token)
    {
        ReadOnlySpan<byte> b = _tokenizer.TokenBytes(token, _renderSpecial);
        if (b.IsEmpty) return "";
        if (_atStart)
        {
            if (b[0] == (byte)' ') b = b[1..];
            _atStart = false;
        }
        int total = _pendingCount + b.Length;
        if (_buf.Length < total) _buf = new byte[Math.Max(total, _buf.Length * 2)];
        _pending.AsSpan(0, _pendingCount).CopyTo(_buf);
        b.CopyTo(_buf.AsSpan(_pendingCount));
        int complete = CompleteLength(_buf.AsSpan(0, total));
        _pendingCount = total - complete;
        _buf.AsSpan(complete, _pendingCount).CopyTo(_pending);
        return complete == 0 ? "" : Encoding.UTF8.GetString(_buf, 0, complete);
    }

    /// <summary>Emits whatever is held (an incomplete character becomes U+FFFD) and resets.</summary>
    public string Flush()
    {
        string s = _pendingCount == 0 ? "" : Encoding.UTF8.GetString(_pending, 0, _pendingCount);
        _pendingCount = 0;
        return s;
    }

    /// <summary>Length of the prefix that does not end inside a (so far valid) multi-byte character.</summary>
    internal static int CompleteLength(ReadOnlySpan<byte> s)
    {
        // look back at most 3 bytes for the lead byte of a sequence that is still missing continuation bytes
        for (int back = 1; back <= Math.Min(3, s.Length); back++)
        {
            byte c = s[s.Length - back];
            if ((c & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
            int need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
            return need > back ? s.Length - back : s.Length;
        }
        return s.Length;
    }
}
