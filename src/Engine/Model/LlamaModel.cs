using TtEngine.Gguf;
using TtEngine.Kernels;
using TtEngine.Runtime;
using TtEngine.Tensors;

namespace TtEngine.Model;

/// <summary>
/// A <c>llama</c>-architecture model loaded once from a GGUF file. Weights stay memory-mapped; each
/// <see cref="Sequence"/> owns its KV cache. Forward passes are serialised (one at a time) and use the model's own
/// worker threads for the matrix-vector products.
/// </summary>
public sealed unsafe partial class LlamaModel : IDisposable
{
    private readonly GgufFile _file;
    private readonly LlamaWeights _w;
    private readonly WorkerPool _pool;
    private readonly object _forwardLock = new();
    private bool _disposed;

    private LlamaModel(GgufFile file, LlamaWeights weights, LlamaConfig config, EngineOptions options)
    {
        _file = file;
        _w = weights;
        Config = config;
        Options = options;
        int threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        _pool = new WorkerPool(threads);
    }

    /// <summary>Hyper-parameters.</summary>
    public LlamaConfig Config { get; }

    /// <summary>Options given at load.</summary>
    public EngineOptions Options { get; }

    /// <summary>The mapped GGUF file (metadata access).</summary>
    public GgufFile File => _file;

    /// <summary>Threads used per forward pass.</summary>
    public int Threads => _pool.Count;

    /// <summary>True when there is no output.weight and the embedding matrix is the classifier.</summary>
    public bool TiedEmbeddings => _w.TiedEmbeddings;

    /// <summary>Loads a model (weights and tokenizer) from a GGUF file.</summary>
    /// <exception cref="GgufFormatException">The file is malformed or not a supported llama model.</exception>
    public static LlamaModel Load(string path, EngineOptions? options = null)
    {
        var file = GgufFile.Open(path);
        try
        {
            var weights = LlamaWeights.Load(file, out LlamaConfig config);
            var model = new LlamaModel(file, weights, config, options ?? new EngineOptions());
            model.LoadTokenizer();
            return model;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    partial void LoadTokenizer();

    /// <summary>Creates a sequence with its own KV cache of <paramref name="capacity"/> tokens (0 = the default).</summary>
    public Sequence CreateSequence(int capacity = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (capacity <= 0)
            capacity = Options.DefaultContextLength > 0 ? Options.DefaultContextLength : Math.Min(Config.ContextLength, 4096);
        if (capacity > Config.ContextLength)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"exceeds the model's context length {Config.ContextLength}");
        return new Sequence(this, capacity);
    }

    // ------------------------------------------------------------------ forward pass

    /// <summary>Tokens per forward pass during prefill: each weight row is read once and applied to all of them.</summary>
    internal const int MaxBatch = 32;

    /// <summary>
    /// Runs tokens[0..B) at positions Position.. through the model (B ≤ MaxBatch), filling the KV cache; logits of the
    /// last token when asked. Every per-token result is computed exactly as for B = 1 (same kernels, same order).
    /// </summary>
    internal void Forward(Sequence s, ReadOnlySpan<int> tokens, bool computeLogits)
    {
        var c = Config;
        int B = tokens.Length;
        if (B is < 1 or > MaxBatch) throw new ArgumentOutOfRangeException(nameof(tokens), B, $"batch must be 1..{MaxBatch} tokens");
        foreach (int token in tokens)
            if ((uint)token >= (uint)c.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(tokens), token, $"token id outside the vocabulary (size {c.VocabSize})");
        int pos = s.Position;
        if ((long)pos + B > s.Capacity) throw new ContextLimitExceededException(pos + B - 1, s.Capacity);
        lock (_forwardLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int dim = c.EmbeddingLength, hd = c.HeadDim, kvDim = c.KvDim, qDim = c.QueryDim, ff = c.FeedForwardLength;
            int group = c.HeadCount / c.HeadCountKv;
            float* x = s.X;                         // [B][dim]
            for (int b = 0; b < B; b++)
                Quants.Dequantize(_w.TokenEmbedding.Type, _w.TokenEmbedding.Data + tokens[b] * _w.TokenEmbedding.RowBytes, x + b * dim, dim);
            float scale = 1f / MathF.Sqrt(hd);
            for (int l = 0; l < c.BlockCount; l++)
            {
                ref LayerWeights L = ref _w.Layers[l];
                long layerOff = (long)l * s.Capacity * kvDim;
                float* kCur = s.KeyCache + layerOff + (long)pos * kvDim;   // [B][kvDim], contiguous in the cache
                float* vCur = s.ValueCache + layerOff + (long)pos * kvDim;

                for (int b = 0; b < B; b++) Ops.RmsNorm(x + b * dim, L.AttnNorm, s.Xb + b * dim, dim, c.RmsEpsilon);
                MatMul(in L.Q, s.Xb, s.Q, B);
                MatMul(in L.K, s.Xb, kCur, B);
                MatMul(in L.V, s.Xb, vCur, B);
                for (int b = 0; b < B; b++)
                {
                    Rope(s.Q + b * qDim, c.HeadCount, pos + b);
                    Rope(kCur + b * kvDim, c.HeadCountKv, pos + b);
                }
                for (int b = 0; b < B; b++)
                {
                    var att = new AttentionJob
                    {
                        Q = s.Q + b * qDim, KBase = s.KeyCache + layerOff, VBase = s.ValueCache + layerOff, Att = s.Att,
                        Out = s.AttOut + b * qDim, AttStride = s.AttStride, Heads = c.HeadCount, Group = group, HeadDim = hd,
                        KvDim = kvDim, Pos = pos + b, Scale = scale,
                    };
                    if (_pool.Count == 1 || (long)(pos + b + 1) * qDim < ParallelThreshold)
                        AttentionHeads(&att, 0, 1);
                    else
                        _pool.Run(&AttentionHeads, &att);
                }
                MatMul(in L.O, s.AttOut, s.Xb, B);
                Ops.Add(s.Xb, x, B * dim);

                for (int b = 0; b < B; b++) Ops.RmsNorm(x + b * dim, L.FfnNorm, s.Xb + b * dim, dim, c.RmsEpsilon);
                MatMul(in L.Gate, s.Xb, s.Hb, B);
                MatMul(in L.Up, s.Xb, s.Hb2, B);
                Ops.SwiGlu(s.Hb, s.Hb2, B * ff);
                MatMul(in L.Down, s.Hb, s.Xb, B);
                Ops.Add(s.Xb, x, B * dim);
            }
            if (computeLogits)
            {
                Ops.RmsNorm(x + (B - 1) * dim, _w.OutputNorm, s.Xb, dim, c.RmsEpsilon);
                MatMul(in _w.Output, s.Xb, s.LogitsBuf, 1);
            }
            s.Position = pos + B;
        }
    }

    /// <summary>Rotates adjacent pairs (2i, 2i+1), i &lt; ropeDim/2, of every head by pos·invFreq[i] (llama.cpp "normal" RoPE).</summary>
    private void Rope(float* v, int heads, int pos)
    {
        int hd = Config.HeadDim, half = Config.RopeDimensionCount / 2;
        float* inv = _w.RopeInvFreq;
        for (int i = 0; i < half; i++)
        {
            float angle = pos * inv[i];
            float cos = MathF.Cos(angle), sin = MathF.Sin(angle);
            for (int h = 0; h < heads; h++)
            {
                float* p = v + h * hd + 2 * i;
                float a = p[0], b = p[1];
                p[0] = a * cos - b * sin;
                p[1] = a * sin + b * cos;
            }
        }
    }

    private struct AttentionJob
    {
        public float* Q;       // [heads][hd] roped queries
        public float* KBase;   // this layer's key cache [capacity][kvDim]
        public float* VBase;   // this layer's value cache [capacity][kvDim]
        public float* Att;     // [heads][AttStride] scratch scores
        public float* Out;     // [heads][hd]
        public int AttStride, Heads, Group, HeadDim, KvDim, Pos;
        public float Scale;
    }

    /// <summary>Causal attention for a contiguous range of query heads: softmax(q·Kᵀ·scale)·V over positions 0..pos.</summary>
    private static void AttentionHeads(void* ctx, int index, int count)
    {
        var j = (AttentionJob*)ctx;
        int hd = j->HeadDim, kvDim = j->KvDim, pos = j->Pos;
        int per = (j->Heads + count - 1) / count;
        int start = index * per, end = Math.Min(j->Heads, start + per);
        for (int h = start; h < end; h++)
        {
            float* qh = j->Q + h * hd;
            int kvh = h / j->Group;
            float* k = j->KBase + kvh * hd;
            float* v = j->VBase + kvh * hd;
            float* att = j->Att + (long)h * j->AttStride;
            for (int t = 0; t <= pos; t++) att[t] = Dot.F32(qh, k + (long)t * kvDim, hd) * j->Scale;
            Ops.Softmax(att, pos + 1);
            float* o = j->Out + h * hd;
            new Span<float>(o, hd).Clear();
            for (int t = 0; t <= pos; t++) Ops.Axpy(att[t], v + (long)t * kvDim, o, hd);
        }
    }

    private struct MatMulJob
    {
        public Matrix M;
        public float* X;    // [B][M.Cols]
        public float* Y;    // [B][M.Rows]
        public int B;
    }

    private const long ParallelThreshold = 1 << 16; // elements; below this the hand-off costs more than it saves

    /// <summary>Y[b] = M · X[b] for b &lt; B; each weight row is loaded once and used for all B vectors.</summary>
    private void MatMul(in Matrix m, float* x, float* y, int b)
    {
        var job = new MatMulJob { M = m, X = x, Y = y, B = b };
        if (_pool.Count == 1 || (long)m.Rows * m.Cols * b < ParallelThreshold)
            MatMulRows(&job, 0, 1);
        else
            _pool.Run(&MatMulRows, &job);
    }

    private static void MatMulRows(void* ctx, int index, int count)
    {
        var job = (MatMulJob*)ctx;
        ref Matrix m = ref job->M;
        int per = (m.Rows + count - 1) / count;
        int start = index * per, end = Math.Min(m.Rows, start + per);
        var dot = m.Dot;
        int cols = m.Cols, rows = m.Rows, nb = job->B;
        for (int r = start; r < end; r++)
        {
            byte* row = m.Data + r * m.RowBytes;
            for (int b = 0; b < nb; b++) job->Y[(long)b * rows + r] = dot(row, job->X + (long)b * cols, cols);
        }
    }

    /// <summary>Unmaps the file and stops the worker threads. Sequences must not be used afterwards.</summary>
    public void Dispose()
    {
        lock (_forwardLock)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _pool.Dispose();
        _w.Dispose();
        _file.Dispose();
    }
}
