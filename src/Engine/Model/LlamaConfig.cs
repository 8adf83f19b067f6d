using TtEngine.Gguf;

namespace TtEngine.Model;

/// <summary>Hyper-parameters of a <c>llama</c>-architecture model, read from GGUF metadata (<c>llama.*</c> keys).</summary>
public sealed class LlamaConfig
{
    /// <summary>general.architecture.</summary>
    public required string Architecture { get; init; }
    /// <summary>general.name (may be empty).</summary>
    public required string Name { get; init; }
    /// <summary>Model width (embedding_length).</summary>
    public required int EmbeddingLength { get; init; }
    /// <summary>FFN hidden width (feed_forward_length).</summary>
    public required int FeedForwardLength { get; init; }
    /// <summary>Number of transformer blocks.</summary>
    public required int BlockCount { get; init; }
    /// <summary>Query heads.</summary>
    public required int HeadCount { get; init; }
    /// <summary>Key/value heads (GQA when smaller than HeadCount).</summary>
    public required int HeadCountKv { get; init; }
    /// <summary>Per-head dimension.</summary>
    public required int HeadDim { get; init; }
    /// <summary>Number of leading dimensions per head that RoPE rotates (rope.dimension_count).</summary>
    public required int RopeDimensionCount { get; init; }
    /// <summary>RoPE base (rope.freq_base, default 10000).</summary>
    public required float RopeFreqBase { get; init; }
    /// <summary>Linear RoPE scaling factor (rope.scaling.type = linear), 1 when none.</summary>
    public required float RopeLinearScale { get; init; }
    /// <summary>RMSNorm epsilon.</summary>
    public required float RmsEpsilon { get; init; }
    /// <summary>Trained context length (context_length).</summary>
    public required int ContextLength { get; init; }
    /// <summary>Vocabulary size (rows of token_embd).</summary>
    public required int VocabSize { get; init; }

    /// <summary>Query projection width (HeadCount × HeadDim).</summary>
    public int QueryDim => HeadCount * HeadDim;
    /// <summary>Key/value projection width (HeadCountKv × HeadDim).</summary>
    public int KvDim => HeadCountKv * HeadDim;

    internal static LlamaConfig FromGguf(GgufFile f, int vocabRows)
    {
        if (!f.TryGetString("general.architecture", out string arch))
            throw new GgufFormatException(f.Path, "metadata 'general.architecture'", "missing");
        if (arch != "llama")
            throw new GgufFormatException(f.Path, "metadata 'general.architecture'", $"'{arch}' is not supported (supported: llama)");
        f.TryGetString("general.name", out string name);
        int Req(string key, int min, int max)
        {
            string k = arch + "." + key;
            if (!f.TryGetUInt32(k, out uint v)) throw new GgufFormatException(f.Path, $"metadata '{k}'", "missing or not an unsigned integer");
            if (v < min || v > max) throw new GgufFormatException(f.Path, $"metadata '{k}'", $"{v} is outside {min}..{max}");
            return (int)v;
        }
        int embd = Req("embedding_length", 1, 1 << 20);
        int ff = Req("feed_forward_length", 1, 1 << 22);
        int blocks = Req("block_count", 1, 4096);
        int heads = Req("attention.head_count", 1, 4096);
        int kvHeads = f.ContainsKey(arch + ".attention.head_count_kv") ? Req("attention.head_count_kv", 1, heads) : heads;
        if (heads % kvHeads != 0)
            throw new GgufFormatException(f.Path, $"metadata '{arch}.attention.head_count_kv'", $"{kvHeads} does not divide head_count {heads}");
        int headDim = f.ContainsKey(arch + ".attention.key_length") ? Req("attention.key_length", 2, 1 << 16) : embd / heads;
        if (headDim * heads == 0 || (!f.ContainsKey(arch + ".attention.key_length") && embd % heads != 0))
            throw new GgufFormatException(f.Path, $"metadata '{arch}.attention.head_count'", $"{heads} does not divide embedding_length {embd}");
        int ropeDim = f.ContainsKey(arch + ".rope.dimension_count") ? Req("rope.dimension_count", 2, headDim) : headDim;
        if (ropeDim % 2 != 0)
            throw new GgufFormatException(f.Path, $"metadata '{arch}.rope.dimension_count'", $"{ropeDim} is not even");
        int ctx = f.ContainsKey(arch + ".context_length") ? Req("context_length", 1, int.MaxValue) : 2048;
        float Opt(string key, float dflt) => f.TryGetFloat32(arch + "." + key, out float v) ? v : dflt;
        float freqBase = Opt("rope.freq_base", 10000f);
        float eps = Opt("attention.layer_norm_rms_epsilon", 1e-5f);
        float linear = 1f;
        if (f.TryGetString(arch + ".rope.scaling.type", out string st) && st == "linear")
            linear = Opt("rope.scaling.factor", 1f);
        if (!(freqBase > 0) || !(eps >= 0) || !(linear > 0))
            throw new GgufFormatException(f.Path, $"metadata '{arch}.rope'", $"invalid freq_base {freqBase}, eps {eps} or scale {linear}");
        return new LlamaConfig
        {
            Architecture = arch, Name = name, EmbeddingLength = embd, FeedForwardLength = ff, BlockCount = blocks,
            HeadCount = heads, HeadCountKv = kvHeads, HeadDim = headDim, RopeDimensionCount = ropeDim,
            RopeFreqBase = freqBase, RopeLinearScale = linear, RmsEpsilon = eps, ContextLength = ctx, VocabSize = vocabRows,
        };
    }
}
