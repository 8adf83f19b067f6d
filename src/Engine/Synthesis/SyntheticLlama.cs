using System.Text.Json;
using TtEngine.Gguf;
using TtEngine.Tensors;

namespace TtEngine.Synthesis;

/// <summary>Weight encodings <see cref="SyntheticLlama"/> can write (llama.cpp ftype names).</summary>
public enum SyntheticWeights
{
    /// <summary>All matrices F16.</summary>
    F16,
    /// <summary>All matrices Q8_0.</summary>
    Q8_0,
    /// <summary>Q4_0 matrices; the classifier (output, or the tied embedding) Q6_K, as llama-quantize does.</summary>
    Q4_0,
    /// <summary>Q4_K matrices; Q6_K for the classifier and for attn_v/ffn_down in llama.cpp's use_more_bits layers.</summary>
    Q4_K_M,
}

/// <summary>The exact hyper-parameters of a published Llama-family model.</summary>
/// <param name="Name">Shape name as given to <c>ttctl engine synth --shape</c>.</param>
/// <param name="Dim">Embedding length.</param>
/// <param name="Layers">Block count.</param>
/// <param name="Heads">Query heads.</param>
/// <param name="KvHeads">Key/value heads.</param>
/// <param name="Ff">Feed-forward length.</param>
/// <param name="Context">Trained context length.</param>
/// <param name="RopeBase">RoPE frequency base.</param>
/// <param name="Tied">True when the embedding matrix is also the classifier (no output.weight).</param>
/// <param name="Llama3RopeFactor">Llama 3.1 rope scaling factor (0 = none); written as rope_freqs.weight.</param>
/// <param name="Llama3Vocab">True for the Llama 3 tokenizer (128256 tokens), false for the Llama 2 SentencePiece vocab (32000).</param>
public sealed record SyntheticShape(string Name, int Dim, int Layers, int Heads, int KvHeads, int Ff, int Context, float RopeBase,
    bool Tied, float Llama3RopeFactor, bool Llama3Vocab)
{
    /// <summary>The shapes known by name.</summary>
    public static IReadOnlyList<SyntheticShape> All { get; } =
    [
        new("llama-3.2-1b", 2048, 16, 32, 8, 8192, 131072, 500000f, Tied: true, Llama3RopeFactor: 32f, Llama3Vocab: true),
        new("llama-3.1-8b", 4096, 32, 32, 8, 14336, 131072, 500000f, Tied: false, Llama3RopeFactor: 8f, Llama3Vocab: true),
        new("tinyllama-1.1b", 2048, 22, 32, 4, 5632, 2048, 10000f, Tied: false, Llama3RopeFactor: 0, Llama3Vocab: false),
        new("stories15m", 288, 6, 6, 6, 768, 256, 10000f, Tied: false, Llama3RopeFactor: 0, Llama3Vocab: false),
        new("stories110m", 768, 12, 12, 12, 2048, 1024, 10000f, Tied: false, Llama3RopeFactor: 0, Llama3Vocab: false),
    ];

    /// <summary>Finds a shape by name (case-insensitive), or null.</summary>
    public static SyntheticShape? Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// Writes a valid llama GGUF with deterministic random weights of a real model's exact shapes and a real tokenizer, for
/// benchmarking (speed does not depend on weight values). Rows are drawn uniform with std 1/sqrt(cols) (embeddings
/// std 1), so activations stay finite through every layer. Tensor data is generated and quantized in bounded chunks
/// while the file streams out: an 8B file never sits in memory.
/// </summary>
public static class SyntheticLlama
{
    /// <summary>Bytes of quantized rows generated per chunk before being written.</summary>
    private const long ChunkBytes = 8 << 20;

    /// <summary>
    /// Writes the file. <paramref name="tokenizerPath"/> is Llama 3's tokenizer.json for Llama-3 shapes, and a GGUF holding
    /// the Llama 2 SentencePiece vocab (llama.cpp's ggml-vocab-llama-spm.gguf) for the others.
    /// </summary>
    public static void Write(string path, SyntheticShape shape, SyntheticWeights weights, ulong seed, string tokenizerPath,
        IProgress<string>? progress = null)
    {
        var w = new GgufWriter();
        int vocab = shape.Llama3Vocab ? AddLlama3Vocab(w, tokenizerPath, shape, weights) : AddSpmVocab(w, tokenizerPath, shape, weights);
        int hd = shape.Dim / shape.Heads;
        int tensorIndex = 0;
        void Mat(string name, int cols, int rows, GgmlType type, float std)
        {
            ulong tseed = Mix(seed ^ Mix((ulong)++tensorIndex));
            if (cols % GgmlTypeInfo.BlockElements(type) != 0) type = GgmlType.Q8_0; // stories15M: 288 columns do not fit 256-blocks
            w.AddTensor(name, type, [cols, rows], s =>
            {
                progress?.Report(name);
                WriteRows(s, type, cols, rows, std, tseed);
            });
        }
        void Norm(string name, int n) => w.AddTensor(name, GgmlType.F32, [n], s => WriteNorm(s, n));

        GgmlType main = weights switch
        {
            SyntheticWeights.F16 => GgmlType.F16,
            SyntheticWeights.Q8_0 => GgmlType.Q8_0,
            SyntheticWeights.Q4_0 => GgmlType.Q4_0,
            _ => GgmlType.Q4_K,
        };
        GgmlType classifier = weights is SyntheticWeights.Q4_0 or SyntheticWeights.Q4_K_M ? GgmlType.Q6_K : main;
        Mat("token_embd.weight", shape.Dim, vocab, shape.Tied ? classifier : main, 1f);
        Norm("output_norm.weight", shape.Dim);
        if (!shape.Tied) Mat("output.weight", shape.Dim, vocab, classifier, 1f / MathF.Sqrt(shape.Dim));
        if (shape.Llama3RopeFactor > 0)
        {
            float[] f = Llama3RopeFactors(hd, shape.RopeBase, shape.Llama3RopeFactor);
            w.AddTensor("rope_freqs.weight", [f.Length], f);
        }
        for (int l = 0; l < shape.Layers; l++)
        {
            string b = $"blk.{l}.";
            GgmlType more = weights == SyntheticWeights.Q4_K_M && UseMoreBits(l, shape.Layers) ? GgmlType.Q6_K : main;
            float sd = 1f / MathF.Sqrt(shape.Dim);
            Norm(b + "attn_norm.weight", shape.Dim);
            Mat(b + "attn_q.weight", shape.Dim, shape.Heads * hd, main, sd * 2);
            Mat(b + "attn_k.weight", shape.Dim, shape.KvHeads * hd, main, sd * 2);
            Mat(b + "attn_v.weight", shape.Dim, shape.KvHeads * hd, more, sd);
            Mat(b + "attn_output.weight", shape.Heads * hd, shape.Dim, main, 1f / MathF.Sqrt(shape.Heads * hd));
            Norm(b + "ffn_norm.weight", shape.Dim);
            Mat(b + "ffn_gate.weight", shape.Dim, shape.Ff, main, sd);
            Mat(b + "ffn_up.weight", shape.Dim, shape.Ff, main, sd);
            Mat(b + "ffn_down.weight", shape.Ff, shape.Dim, more, 1f / MathF.Sqrt(shape.Ff));
        }
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        w.WriteTo(fs);
    }

    /// <summary>llama.cpp's use_more_bits: the first and last eighth of the layers and every third one between.</summary>
    private static bool UseMoreBits(int i, int n) => i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;

    private static void AddModelKeys(GgufWriter w, SyntheticShape s, SyntheticWeights weights)
    {
        w.AddString("general.architecture", "llama");
        w.AddString("general.name", $"synthetic {s.Name} {weights}");
        w.AddUInt32("general.file_type", weights switch
        {
            SyntheticWeights.F16 => 1u, SyntheticWeights.Q8_0 => 7u, SyntheticWeights.Q4_0 => 2u, _ => 15u,
        });
        w.AddUInt32("llama.context_length", (uint)s.Context);
        w.AddUInt32("llama.embedding_length", (uint)s.Dim);
        w.AddUInt32("llama.feed_forward_length", (uint)s.Ff);
        w.AddUInt32("llama.block_count", (uint)s.Layers);
        w.AddUInt32("llama.attention.head_count", (uint)s.Heads);
        w.AddUInt32("llama.attention.head_count_kv", (uint)s.KvHeads);
        w.AddUInt32("llama.rope.dimension_count", (uint)(s.Dim / s.Heads));
        w.AddFloat32("llama.rope.freq_base", s.RopeBase);
        w.AddFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    }

    private static int AddLlama3Vocab(GgufWriter w, string tokenizerJson, SyntheticShape s, SyntheticWeights weights)
    {
        AddModelKeys(w, s, weights);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerJson), new JsonDocumentOptions { MaxDepth = 64 });
        JsonElement model = doc.RootElement.GetProperty("model");
        var pieces = new Dictionary<int, (string text, int type)>();
        foreach (JsonProperty p in model.GetProperty("vocab").EnumerateObject()) pieces[p.Value.GetInt32()] = (p.Name, 1);
        foreach (JsonElement a in doc.RootElement.GetProperty("added_tokens").EnumerateArray())
        {
            bool special = a.TryGetProperty("special", out var sp) && sp.GetBoolean();
            pieces[a.GetProperty("id").GetInt32()] = (a.GetProperty("content").GetString()!, special ? 3 : 4);
        }
        int vocab = pieces.Keys.Max() + 1;
        var tokens = new string[vocab];
        var types = new int[vocab];
        for (int i = 0; i < vocab; i++)
            (tokens[i], types[i]) = pieces.TryGetValue(i, out var t) ? t : ($"[UNUSED_{i}]", 5);
        var merges = new List<string>();
        foreach (JsonElement m in model.GetProperty("merges").EnumerateArray())
            merges.Add(m.ValueKind == JsonValueKind.Array ? m[0].GetString() + " " + m[1].GetString() : m.GetString()!);
        w.AddString("tokenizer.ggml.model", "gpt2");
        w.AddString("tokenizer.ggml.pre", "llama-bpe");
        w.AddStringArray("tokenizer.ggml.tokens", tokens);
        w.AddInt32Array("tokenizer.ggml.token_type", types);
        w.AddStringArray("tokenizer.ggml.merges", merges);
        int bos = Array.IndexOf(tokens, "<|begin_of_text|>"), eos = Array.IndexOf(tokens, "<|end_of_text|>");
        if (bos >= 0) w.AddUInt32("tokenizer.ggml.bos_token_id", (uint)bos);
        if (eos >= 0) w.AddUInt32("tokenizer.ggml.eos_token_id", (uint)eos);
        w.AddBool("tokenizer.ggml.add_bos_token", true);
        return vocab;
    }

    private static int AddSpmVocab(GgufWriter w, string vocabGguf, SyntheticShape s, SyntheticWeights weights)
    {
        AddModelKeys(w, s, weights);
        using var f = GgufFile.Open(vocabGguf);
        if (!f.TryGetString("tokenizer.ggml.model", out string kind) || kind != "llama")
            throw new GgufFormatException(vocabGguf, "metadata 'tokenizer.ggml.model'", $"'{kind}' is not the SentencePiece 'llama' vocab");
        int vocab = 0;
        foreach (string key in f.Keys)
        {
            if (!key.StartsWith("tokenizer.", StringComparison.Ordinal)) continue;
            f.TryGetValueType(key, out GgufValueType type, out GgufValueType elem);
            switch (type)
            {
                case GgufValueType.String when f.TryGetString(key, out string v): w.AddString(key, v); break;
                case GgufValueType.Bool when f.TryGetBool(key, out bool v): w.AddBool(key, v); break;
                case GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.UInt64 when f.TryGetUInt32(key, out uint v): w.AddUInt32(key, v); break;
                case GgufValueType.Array when elem == GgufValueType.String && f.TryGetStringArray(key, out string[] v):
                    w.AddStringArray(key, v);
                    if (key == "tokenizer.ggml.tokens") vocab = v.Length;
                    break;
                case GgufValueType.Array when elem == GgufValueType.Float32 && f.TryGetFloat32Array(key, out float[] v): w.AddFloat32Array(key, v); break;
                case GgufValueType.Array when f.TryGetInt32Array(key, out int[] v): w.AddInt32Array(key, v); break;
            }
        }
        if (vocab == 0) throw new GgufFormatException(vocabGguf, "metadata 'tokenizer.ggml.tokens'", "missing or empty");
        return vocab;
    }

    /// <summary>rope_freqs for Llama 3.1-style scaling (low 1, high 4, original context 8192), as llama.cpp's converter writes them.</summary>
    private static float[] Llama3RopeFactors(int headDim, float theta, float factor)
    {
        const float low = 1f, high = 4f, original = 8192f;
        var r = new float[headDim / 2];
        for (int i = 0; i < r.Length; i++)
        {
            double freq = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < original / high) r[i] = 1f;
            else if (wavelen > original / low) r[i] = factor;
            else
            {
                double smooth = (original / wavelen - low) / (high - low);
                r[i] = (float)(1.0 / ((1 - smooth) / factor + smooth));
            }
        }
        return r;
    }

    private static void WriteNorm(Stream s, int n)
    {
        var buf = new byte[n * 4];
        for (int i = 0; i < n; i++) BitConverter.TryWriteBytes(buf.AsSpan(i * 4), 1f);
        s.Write(buf);
    }

    /// <summary>Generates and quantizes rows in parallel chunks of ~<see cref="ChunkBytes"/>; each row's values depend only on (seed, row).</summary>
    private static unsafe void WriteRows(Stream s, GgmlType type, int cols, int rows, float std, ulong seed)
    {
        long rowBytes = GgmlTypeInfo.RowBytes(type, cols);
        int chunkRows = (int)Math.Clamp(ChunkBytes / rowBytes, 1, rows);
        var buf = new byte[chunkRows * rowBytes];
        float amp = std * MathF.Sqrt(3f);
        for (int r0 = 0; r0 < rows; r0 += chunkRows)
        {
            int n = Math.Min(chunkRows, rows - r0);
            Parallel.For(0, n, () => new float[cols], (i, _, tmp) =>
            {
                ulong state = Mix(seed + (ulong)(r0 + i) * 0x9E3779B97F4A7C15UL);
                for (int j = 0; j < cols; j++)
                {
                    state = state * 6364136223846793005UL + 1442695040888963407UL;
                    tmp[j] = ((int)(state >> 40) * (1f / (1 << 23)) - 1f) * amp; // uniform in [-amp, amp)
                }
                fixed (float* x = tmp) fixed (byte* d = &buf[i * rowBytes]) Quants.Quantize(type, x, d, cols);
                return tmp;
            }, _ => { });
            s.Write(buf, 0, (int)(n * rowBytes));
        }
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
