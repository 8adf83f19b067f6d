using System.Text;

namespace TtEngine.Tokenization;

/// <summary>
/// Byte-level BPE as llama.cpp's llm_tokenizer_bpe: pre-tokenize into words, map each word's UTF-8 bytes to GPT-2's
/// byte characters, then merge the lowest-ranked adjacent pair (leftmost on ties) until no merge applies. With
/// ignore_merges (Llama 3) a word that is itself a vocabulary piece becomes that token directly.
/// </summary>
internal sealed class BpeTokenizer : Tokenizer
{
    private readonly Dictionary<(string, string), int> _ranks;
    private readonly PreTokenizer _pre;
    private readonly bool _ignoreMerges;
    private readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly object _cacheLock = new();
    private const int CacheLimit = 1 << 16;

    public BpeTokenizer(string[] pieces, TokenType[] types, IReadOnlyList<string> merges, SpecialIds ids, PreTokenizer pre, bool ignoreMerges)
        : base(pieces, types, ids)
    {
        _ranks = new Dictionary<(string, string), int>(merges.Count);
        for (int i = 0; i < merges.Count; i++)
        {
            string m = merges[i];
            int sp = m.IndexOf(' ', 1);
            if (sp < 0) throw new FormatException($"merge {i} '{m}' has no space separating its two parts");
            _ranks.TryAdd((m[..sp], m[(sp + 1)..]), i);
        }
        _pre = pre;
        _ignoreMerges = ignoreMerges;
        InitTokenBytes();
    }

    public override string Model => "gpt2";

    private protected override byte[] RenderToken(int id)
    {
        if (Types[id] == TokenType.Control || Types[id] == TokenType.UserDefined) return Encoding.UTF8.GetBytes(Pieces[id]);
        return ByteLevel.Decode(Pieces[id]);
    }

    private protected override void EncodeText(string text, bool afterSpecialOrStart, List<int> output)
    {
        var words = new List<(int, int)>();
        _pre.Split(text, words);
        foreach (var (start, length) in words)
        {
            string word = ByteLevel.Encode(text.AsSpan(start, length));
            int[]? ids;
            lock (_cacheLock) _cache.TryGetValue(word, out ids);
            if (ids is null)
            {
                ids = EncodeWord(word);
                lock (_cacheLock)
                {
                    if (_cache.Count >= CacheLimit) _cache.Clear();
                    _cache[word] = ids;
                }
            }
            output.AddRange(ids);
        }
    }

    private readonly record struct Bigram(int Left, int Right, int Len);

    private static readonly Comparer<(int rank, int left)> LowestFirst = Comparer<(int rank, int left)>.Create((a, b) =>
    {
        int c = a.rank.CompareTo(b.rank);
        return c != 0 ? c : a.left.CompareTo(b.left);
    });

    private int[] EncodeWord(string w)
    {
        if (_ignoreMerges && PieceToId.TryGetValue(w, out int whole)) return [whole];
        int n = w.Length; // byte-level characters are all in the BMP: one char per symbol
        var start = new int[n];
        var len = new int[n];
        var prev = new int[n];
        var next = new int[n];
        for (int i = 0; i < n; i++)
        {
            start[i] = i;
            len[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        var queue = new PriorityQueue<Bigram, (int, int)>(LowestFirst);
        void TryAdd(int l, int r)
        {
            if (l < 0 || r < 0) return;
            if (!_ranks.TryGetValue((w.Substring(start[l], len[l]), w.Substring(start[r], len[r])), out int rank)) return;
            queue.Enqueue(new Bigram(l, r, len[l] + len[r]), (rank, l));
        }
        for (int i = 1; i < n; i++) TryAdd(i - 1, i);
        while (queue.TryDequeue(out Bigram bg, out _))
        {
            int l = bg.Left, r = bg.Right;
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != bg.Len || next[l] != r) continue; // stale
            len[l] += len[r];
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            TryAdd(prev[l], l);
            TryAdd(l, next[l]);
        }
        var result = new List<int>();
        for (int i = 0; i != -1; i = next[i])
        {
            string piece = w.Substring(start[i], len[i]);
            if (PieceToId.TryGetValue(piece, out int id)) result.Add(id);
            else
                foreach (char c in piece)
                    if (PieceToId.TryGetValue(c.ToString(), out int cid)) result.Add(cid);
        }
        return result.ToArray();
    }
}
