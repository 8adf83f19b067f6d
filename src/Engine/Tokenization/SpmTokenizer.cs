using System.Text;

namespace TtEngine.Tokenization;

/// <summary>
/// SentencePiece-style tokenizer as llama.cpp's llm_tokenizer_spm: spaces become U+2581, an optional prefix space, then
/// repeatedly merge the adjacent pair whose concatenation is the highest-scoring vocabulary piece; pieces not in the vocab
/// are re-split along their merge history and finally fall back to &lt;0xNN&gt; byte tokens.
/// </summary>
internal sealed class SpmTokenizer : Tokenizer
{
    private readonly float[] _scores;
    private readonly bool _addSpacePrefix;
    private readonly int[] _byteTokens = new int[256];

    public SpmTokenizer(string[] pieces, TokenType[] types, float[] scores, SpecialIds ids, bool addSpacePrefix)
        : base(pieces, types, ids)
    {
        _scores = scores;
        _addSpacePrefix = addSpacePrefix;
        for (int b = 0; b < 256; b++)
        {
            int id = GetId($"<0x{b:X2}>");
            if (id < 0) id = GetId(((char)b).ToString()); // some vocabs spell printable bytes as themselves
            _byteTokens[b] = id >= 0 ? id : ids.Unknown;
        }
        InitTokenBytes();
    }

    public override string Model => "llama";

    public override bool StripsLeadingSpace => _addSpacePrefix;

    private protected override byte[] RenderToken(int id)
    {
        string p = Pieces[id];
        if (Types[id] == TokenType.Byte && p.Length == 6 && p.StartsWith("<0x", StringComparison.Ordinal) &&
            byte.TryParse(p.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
            return [b];
        if (Types[id] == TokenType.Unknown) return "\u2585"u8.ToArray(); // llama.cpp renders unknown as ▅
        return Encoding.UTF8.GetBytes(p.Replace('\u2581', ' '));
    }

    private struct Symbol
    {
        public int Prev, Next;  // linked list over symbols
        public int Start, Len;  // char range in the escaped text
    }

    private readonly record struct Bigram(int Left, int Right, int Len);

    // highest score first; ties: leftmost first (llama.cpp's llm_bigram_spm comparator)
    private static readonly Comparer<(float score, int left)> BestFirst = Comparer<(float score, int left)>.Create((a, b) =>
    {
        int c = b.score.CompareTo(a.score);
        return c != 0 ? c : a.left.CompareTo(b.left);
    });

    private protected override void EncodeText(string text, bool afterSpecialOrStart, List<int> output)
    {
        string s = (_addSpacePrefix && afterSpecialOrStart ? " " + text : text).Replace(' ', '\u2581');
        if (s.Length == 0) return;
        // symbols are Unicode scalar values (surrogate pairs stay together)
        var syms = new List<Symbol>(s.Length);
        for (int i = 0; i < s.Length;)
        {
            int len = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
            syms.Add(new Symbol { Prev = syms.Count - 1, Next = i + len < s.Length ? syms.Count + 1 : -1, Start = i, Len = len });
            i += len;
        }
        var symbols = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(syms).ToArray();
        // max score first; ties: leftmost first
        var queue = new PriorityQueue<Bigram, (float, int)>(BestFirst);
        void TryAdd(int left, int right)
        {
            if (left < 0 || right < 0) return;
            string piece = s.Substring(symbols[left].Start, symbols[left].Len + symbols[right].Len);
            if (!PieceToId.TryGetValue(piece, out int id)) return;
            queue.Enqueue(new Bigram(left, right, piece.Length), (_scores[id], left));
        }
        for (int i = 1; i < symbols.Length; i++) TryAdd(i - 1, i);
        while (queue.TryDequeue(out Bigram bg, out _))
        {
            ref Symbol l = ref symbols[bg.Left];
            ref Symbol r = ref symbols[bg.Right];
            if (l.Len == 0 || r.Len == 0 || l.Len + r.Len != bg.Len) continue; // stale
            l.Len += r.Len;
            r.Len = 0;
            l.Next = r.Next;
            if (r.Next >= 0) symbols[r.Next].Prev = bg.Left;
            TryAdd(l.Prev, bg.Left);
            TryAdd(bg.Left, l.Next);
        }
        // every merged symbol is a vocabulary piece (only such bigrams are queued), so only single
        // characters can be missing from the vocab: those fall back to byte tokens
        for (int i = 0; i != -1; i = symbols[i].Next)
        {
            string piece = s.Substring(symbols[i].Start, symbols[i].Len);
            if (PieceToId.TryGetValue(piece, out int id)) output.Add(id);
            else foreach (byte b in Encoding.UTF8.GetBytes(piece)) output.Add(_byteTokens[b]);
        }
    }
}
