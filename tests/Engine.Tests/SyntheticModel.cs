using TtEngine.Gguf;
using TtEngine.Tensors;

namespace TtEngine.Tests;

/// <summary>Shapes and writer for random-weight llama GGUFs used by the reference-forward tests.</summary>
internal sealed record Shape(int Dim, int Heads, int KvHeads, int HeadDim, int Ff, int Layers, int Vocab, bool Tied = false,
    GgmlType Type = GgmlType.F32, float FreqBase = 10000f, int RopeDim = 0, bool RopeFreqs = false, int Context = 64,
    float WeightScale = 1f)
{
    public override string ToString() =>
        $"d{Dim} h{Heads}/{KvHeads} hd{HeadDim} ff{Ff} L{Layers} V{Vocab}{(Tied ? " tied" : "")} {Type}{(RopeFreqs ? " rope_freqs" : "")}";
}

internal static class SyntheticModel
{
    public static string Write(Shape s, int seed)
    {
        var rng = new Random(seed);
        var w = new GgufWriter();
        w.AddString("general.architecture", "llama");
        w.AddString("general.name", "synthetic");
        w.AddUInt32("llama.context_length", (uint)s.Context);
        w.AddUInt32("llama.embedding_length", (uint)s.Dim);
        w.AddUInt32("llama.feed_forward_length", (uint)s.Ff);
        w.AddUInt32("llama.block_count", (uint)s.Layers);
        w.AddUInt32("llama.attention.head_count", (uint)s.Heads);
        w.AddUInt32("llama.attention.head_count_kv", (uint)s.KvHeads);
        if (s.HeadDim * s.Heads != s.Dim) w.AddUInt32("llama.attention.key_length", (uint)s.HeadDim);
        w.AddUInt32("llama.rope.dimension_count", (uint)(s.RopeDim > 0 ? s.RopeDim : s.HeadDim));
        w.AddFloat32("llama.rope.freq_base", s.FreqBase);
        w.AddFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        AddVocab(w, s.Vocab);

        void Mat(string name, int cols, int rows, float std, GgmlType type)
        {
            var data = new float[cols * rows];
            for (int i = 0; i < data.Length; i++) data[i] = (float)((rng.NextDouble() * 2 - 1) * std * s.WeightScale * Math.Sqrt(3));
            w.AddTensor(name, type, [cols, rows], Quants.Quantize(type, data));
        }
        void Norm(string name, int n)
        {
            var data = new float[n];
            for (int i = 0; i < n; i++) data[i] = (float)(0.8 + 0.4 * rng.NextDouble());
            w.AddTensor(name, [n], data);
        }
        GgmlType big = s.Type;
        GgmlType TypeFor(int cols) => cols % GgmlTypeInfo.BlockElements(big) == 0 ? big : GgmlType.F32;
        Mat("token_embd.weight", s.Dim, s.Vocab, 1f, TypeFor(s.Dim));
        Norm("output_norm.weight", s.Dim);
        if (!s.Tied) Mat("output.weight", s.Dim, s.Vocab, 1f / MathF.Sqrt(s.Dim), TypeFor(s.Dim));
        if (s.RopeFreqs)
        {
            int half = (s.RopeDim > 0 ? s.RopeDim : s.HeadDim) / 2;
            var f = new float[half];
            for (int i = 0; i < half; i++) f[i] = i < half / 3 ? 1f : i < 2 * half / 3 ? 2.5f : 8f;
            w.AddTensor("rope_freqs.weight", [half], f);
        }
        for (int l = 0; l < s.Layers; l++)
        {
            string b = $"blk.{l}.";
            float sd = 1f / MathF.Sqrt(s.Dim);
            Norm(b + "attn_norm.weight", s.Dim);
            Mat(b + "attn_q.weight", s.Dim, s.Heads * s.HeadDim, sd * 2, TypeFor(s.Dim));
            Mat(b + "attn_k.weight", s.Dim, s.KvHeads * s.HeadDim, sd * 2, TypeFor(s.Dim));
            Mat(b + "attn_v.weight", s.Dim, s.KvHeads * s.HeadDim, sd, TypeFor(s.Dim));
            Mat(b + "attn_output.weight", s.Heads * s.HeadDim, s.Dim, 1f / MathF.Sqrt(s.Heads * s.HeadDim), TypeFor(s.Heads * s.HeadDim));
            Norm(b + "ffn_norm.weight", s.Dim);
            Mat(b + "ffn_gate.weight", s.Dim, s.Ff, sd, TypeFor(s.Dim));
            Mat(b + "ffn_up.weight", s.Dim, s.Ff, sd, TypeFor(s.Dim));
            Mat(b + "ffn_down.weight", s.Ff, s.Dim, 1f / MathF.Sqrt(s.Ff), TypeFor(s.Ff));
        }
        string path = TestData.TempFile("synthetic.gguf");
        w.WriteTo(path);
        return path;
    }

    /// <summary>A minimal SentencePiece-style vocab: unk, bos, eos, byte tokens (when room), then filler pieces.</summary>
    public static void AddVocab(GgufWriter w, int vocab)
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { 2, 3, 3 };
        for (int b = 0; b < 256 && tokens.Count < vocab; b++) { tokens.Add($"<0x{b:X2}>"); types.Add(6); }
        for (int i = 0; tokens.Count < vocab; i++) { tokens.Add("\u2581w" + i); types.Add(1); }
        var scores = new float[vocab];
        for (int i = 0; i < vocab; i++) scores[i] = -i;
        w.AddString("tokenizer.ggml.model", "llama");
        w.AddStringArray("tokenizer.ggml.tokens", tokens);
        w.AddFloat32Array("tokenizer.ggml.scores", scores);
        w.AddInt32Array("tokenizer.ggml.token_type", types.ToArray());
        w.AddUInt32("tokenizer.ggml.bos_token_id", 1);
        w.AddUInt32("tokenizer.ggml.eos_token_id", 2);
        w.AddUInt32("tokenizer.ggml.unknown_token_id", 0);
    }
}
