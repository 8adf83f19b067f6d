using System.Text;
using TtEngine.Gguf;

namespace TtEngine.Tokenization;

/// <summary>Token attributes, numbered as GGUF's tokenizer.ggml.token_type.</summary>
public enum TokenType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>Ordinary text piece.</summary>
    Normal = 1,
    /// <summary>The unknown token.</summary>
    Unknown = 2,
    /// <summary>Control token (BOS, EOS, chat headers): matched in text only when parsing specials, not rendered by default.</summary>
    Control = 3,
    /// <summary>User-defined token: always matched in text, rendered as its text.</summary>
    UserDefined = 4,
    /// <summary>Unused slot.</summary>
    Unused = 5,
    /// <summary>SentencePiece byte-fallback token &lt;0xNN&gt;.</summary>
    Byte = 6,
}

/// <summary>
/// Text ↔ token ids. Built from GGUF metadata (<see cref="FromGguf"/>: SentencePiece-style <c>llama</c> or byte-level BPE
/// <c>gpt2</c>) or from a Hugging Face tokenizer.json (<see cref="FromHuggingFaceJson"/>). Immutable and thread-safe
/// apart from an internal word cache that is lock-protected.
/// </summary>
public abstract class Tokenizer
{
    private protected readonly string[] Pieces;
    private protected readonly TokenType[] Types;
    private protected readonly Dictionary<string, int> PieceToId;
    private readonly byte[][] _bytes;          // rendered bytes of each token (control tokens: their text)
    private readonly Dictionary<char, (string text, int id)[]> _specials; // control + user-defined by first char, longest first
    private readonly HashSet<int> _eog = new();

    private protected Tokenizer(string[] pieces, TokenType[] types, SpecialIds ids)
    {
        Pieces = pieces;
        Types = types;
        PieceToId = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (int i = 0; i < pieces.Length; i++) PieceToId.TryAdd(pieces[i], i);
        BosId = ids.Bos;
        EosId = ids.Eos;
        UnknownId = ids.Unknown;
        AddBos = ids.AddBos;
        AddEos = ids.AddEos;
        EotId = ids.Eot >= 0 ? ids.Eot : FindFirst("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>");
        if (EosId >= 0) _eog.Add(EosId);
        if (EotId >= 0) _eog.Add(EotId);
        int eom = FindFirst("<|eom_id|>");
        if (eom >= 0) _eog.Add(eom);
        _bytes = new byte[pieces.Length][];
        var specials = new List<(string, int)>();
        for (int i = 0; i < pieces.Length; i++)
        {
            if ((types[i] == TokenType.Control || types[i] == TokenType.UserDefined) && pieces[i].Length > 0)
                specials.Add((pieces[i], i));
        }
        specials.Sort((a, b) => b.Item1.Length.CompareTo(a.Item1.Length));
        _specials = specials.GroupBy(t => t.Item1[0]).ToDictionary(g => g.Key, g => g.ToArray());
    }

    private protected void InitTokenBytes()
    {
        for (int i = 0; i < Pieces.Length; i++) _bytes[i] = RenderToken(i);
    }

    /// <summary>Bytes a token stands for (control tokens: the UTF-8 of their text).</summary>
    private protected abstract byte[] RenderToken(int id);

    /// <summary>Encodes one fragment of plain text (no special tokens inside) and appends ids.</summary>
    private protected abstract void EncodeText(string text, bool afterSpecialOrStart, List<int> output);

    private int FindFirst(params string[] names)
    {
        foreach (string n in names)
            if (PieceToId.TryGetValue(n, out int id)) return id;
        return -1;
    }

    /// <summary>Number of tokens.</summary>
    public int VocabSize => Pieces.Length;
    /// <summary>Beginning-of-sequence id, or -1.</summary>
    public int BosId { get; }
    /// <summary>End-of-sequence id, or -1.</summary>
    public int EosId { get; }
    /// <summary>End-of-turn id (e.g. &lt;|eot_id|&gt;), or -1.</summary>
    public int EotId { get; }
    /// <summary>Unknown-token id, or -1.</summary>
    public int UnknownId { get; }
    /// <summary>Whether <see cref="Encode"/> with addSpecial prepends BOS.</summary>
    public bool AddBos { get; }
    /// <summary>Whether <see cref="Encode"/> with addSpecial appends EOS.</summary>
    public bool AddEos { get; }
    /// <summary>The tokenizer family: "llama" (SentencePiece) or "gpt2" (byte-level BPE).</summary>
    public abstract string Model { get; }

    /// <summary>True for tokens that end generation (EOS, EOT, EOM).</summary>
    public bool IsEndOfGeneration(int id) => _eog.Contains(id);

    /// <summary>The stored piece text of a token.</summary>
    public string GetPiece(int id) => Pieces[id];

    /// <summary>The attribute of a token.</summary>
    public TokenType GetTokenType(int id) => Types[id];

    /// <summary>Id of an exact piece, or -1.</summary>
    public int GetId(string piece) => PieceToId.TryGetValue(piece, out int id) ? id : -1;

    /// <summary>
    /// Encodes text. <paramref name="addSpecial"/> adds BOS/EOS as the vocabulary asks; <paramref name="parseSpecial"/>
    /// turns control-token text such as <c>&lt;|eot_id|&gt;</c> into those tokens (user-defined tokens always are).
    /// </summary>
    public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<int>(text.Length / 3 + 4);
        if (addSpecial && AddBos && BosId >= 0) output.Add(BosId);
        bool afterSpecial = true;
        int start = 0;
        for (int i = 0; i < text.Length;)
        {
            int match = MatchSpecial(text, i, parseSpecial, out int len);
            if (match < 0)
            {
                i++;
                continue;
            }
            if (i > start) EncodeText(text.Substring(start, i - start), afterSpecial, output);
            output.Add(match);
            afterSpecial = true;
            i += len;
            start = i;
            continue;
        }
        if (start < text.Length) EncodeText(start == 0 ? text : text.Substring(start), afterSpecial, output);
        if (addSpecial && AddEos && EosId >= 0) output.Add(EosId);
        return output.ToArray();
    }

    private int MatchSpecial(string text, int at, bool parseSpecial, out int length)
    {
        length = 0;
        if (!_specials.TryGetValue(text[at], out var candidates)) return -1;
        foreach (var (s, id) in candidates)
        {
            if (!parseSpecial && Types[id] != TokenType.UserDefined) continue;
            if (at + s.Length <= text.Length && string.CompareOrdinal(text, at, s, 0, s.Length) == 0)
            {
                length = s.Length;
                return id;
            }
        }
        return -1;
    }

    /// <summary>The bytes token <paramref name="id"/> renders to (empty for control tokens unless <paramref name="renderSpecial"/>).</summary>
    public ReadOnlySpan<byte> TokenBytes(int id, bool renderSpecial = false)
    {
        if ((uint)id >= (uint)_bytes.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"not a token id (vocab size {VocabSize})");
        if (!renderSpecial && Types[id] == TokenType.Control) return default;
        return _bytes[id];
    }

    /// <summary>Whether the decoder drops one leading space at the start of a text (SentencePiece's added prefix space).</summary>
    public virtual bool StripsLeadingSpace => false;

    /// <summary>Decodes ids to text (invalid UTF-8 becomes U+FFFD).</summary>
    public string Decode(ReadOnlySpan<int> ids, bool renderSpecial = false)
    {
        var buf = new List<byte>(ids.Length * 4);
        bool atStart = true;
        foreach (int id in ids)
        {
            ReadOnlySpan<byte> b = TokenBytes(id, renderSpecial);
            if (b.IsEmpty) continue;
            if (atStart && StripsLeadingSpace && b[0] == (byte)' ') b = b[1..];
            atStart = false;
            foreach (byte x in b) buf.Add(x);
        }
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buf));
    }

    /// <summary>Builds the tokenizer described by a GGUF file's tokenizer.ggml.* metadata.</summary>
    public static Tokenizer FromGguf(GgufFile f)
    {
        if (!f.TryGetString("tokenizer.ggml.model", out string model))
            throw new GgufFormatException(f.Path, "metadata 'tokenizer.ggml.model'", "missing");
        if (!f.TryGetStringArray("tokenizer.ggml.tokens", out string[] tokens) || tokens.Length == 0)
            throw new GgufFormatException(f.Path, "metadata 'tokenizer.ggml.tokens'", "missing or empty");
        var types = new TokenType[tokens.Length];
        if (f.TryGetInt32Array("tokenizer.ggml.token_type", out int[] tt))
        {
            if (tt.Length != tokens.Length)
                throw new GgufFormatException(f.Path, "metadata 'tokenizer.ggml.token_type'", $"{tt.Length} entries for {tokens.Length} tokens");
            for (int i = 0; i < tt.Length; i++) types[i] = (TokenType)tt[i];
        }
        else Array.Fill(types, TokenType.Normal);
        int Id(string key, int dflt)
        {
            if (!f.TryGetUInt32("tokenizer.ggml." + key, out uint v)) return dflt;
            return v < tokens.Length ? (int)v : -1; // 0xFFFFFFFF and other out-of-range values mean "none"
        }
        bool Flag(string key, bool dflt) => f.TryGetBool("tokenizer.ggml." + key, out bool b) ? b : dflt;
        switch (model)
        {
            case "llama":
            {
                if (!f.TryGetFloat32Array("tokenizer.ggml.scores", out float[] scores) || scores.Length != tokens.Length)
                    throw new GgufFormatException(f.Path, "metadata 'tokenizer.ggml.scores'", "missing or not one score per token");
                var ids = new SpecialIds(Id("bos_token_id", 1), Id("eos_token_id", 2), Id("unknown_token_id", 0), Id("eot_token_id", -1),
                    Flag("add_bos_token", true), Flag("add_eos_token", false));
                return new SpmTokenizer(tokens, types, scores, ids, Flag("add_space_prefix", true));
            }
            case "gpt2":
            {
                if (!f.TryGetStringArray("tokenizer.ggml.merges", out string[] merges))
                    throw new GgufFormatException(f.Path, "metadata 'tokenizer.ggml.merges'", "missing (required for gpt2 BPE)");
                f.TryGetString("tokenizer.ggml.pre", out string pre);
                if (pre.Length == 0) pre = "default";
                string[]? regexes = PreTokenizer.RegexesFor(pre);
                if (regexes is null)
                    throw new GgufFormatException(f.Path, "metadata 'tokenizer.ggml.pre'", $"pre-tokenizer '{pre}' is not supported (supported: {string.Join(", ", PreTokenizer.KnownNames)})");
                var ids = new SpecialIds(Id("bos_token_id", 11), Id("eos_token_id", 11), Id("unknown_token_id", -1), Id("eot_token_id", -1),
                    Flag("add_bos_token", false), Flag("add_eos_token", false));
                return new BpeTokenizer(tokens, types, merges, ids, new PreTokenizer(regexes), ignoreMerges: PreTokenizer.IgnoresMerges(pre));
            }
            default:
                throw new GgufFormatException(f.Path, "metadata 'tokenizer.ggml.model'", $"'{model}' is not supported (supported: llama, gpt2)");
        }
    }

    /// <summary>Loads a Hugging Face tokenizer.json (byte-level BPE, e.g. Llama 3); reads tokenizer_config.json beside it when present.</summary>
    public static Tokenizer FromHuggingFaceJson(string path) => HuggingFaceTokenizer.Load(path);
}

/// <summary>Special ids and flags handed to a tokenizer implementation.</summary>
internal readonly record struct SpecialIds(int Bos, int Eos, int Unknown, int Eot, bool AddBos, bool AddEos);
