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

    internal void Forward(Sequence s, int token, bool computeLogits)
    {
        var c = Config;
        if ((uint)token >= (uint)c.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(token), token, $"token id outside the vocabulary (size {c.VocabSize})");
        int pos = s.Position;
        if (pos >= s.Capacity) throw new ContextLimitExceededException(pos, s.Capacity);
        lock (_forwardLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int dim = c.EmbeddingLength, hd = c.HeadDim, kvDim = c.KvDim, group = c.HeadCount / c.HeadCountKv;
            float* x = s.X;
            Quants.Dequantize(_w.TokenEmbedding.Type, _w.TokenEmbedding.Data + token * _w.TokenEmbedding.RowBytes, x, dim);
            float scale = 1f / MathF.Sqrt(hd);
            for (int l = 0; l < c.BlockCount; l++)
            {
                ref LayerWeights L = ref _w.Layers[l];
                long layerOff = (long)l * s.Capacity * kvDim;
                float* kCur = s.KeyCache + layerOff + (long)pos * kvDim;
                float* vCur = s.ValueCache + layerOff + (long)pos * kvDim;

                Ops.RmsNorm(x, L.AttnNorm, s.Xb, dim, c.RmsEpsilon);
                MatVec(in L.Q, s.Xb, s.Q);
                MatVec(in L.K, s.Xb, kCur);
                MatVec(in L.V, s.Xb, vCur);
                Rope(s.Q, c.HeadCount, pos);
                Rope(kCur, c.HeadCountKv, pos);

                var att = new AttentionJob
                {
                    Q = s.Q, KBase = s.KeyCache + layerOff, VBase = s.ValueCache + layerOff, Att = s.Att, Out = s.AttOut,
                    AttStride = s.AttStride, Heads = c.HeadCount, Group = group, HeadDim = hd, KvDim = kvDim, Pos = pos, Scale = scale,
                };
                if (_pool.Count == 1 || (long)(pos + 1) * c.QueryDim < ParallelThreshold)
                    AttentionHeads(&att, 0, 1);
                else
                    _pool.Run(&AttentionHeads, &att);
                MatVec(in L.O, s.AttOut, s.Xb);
                Ops.Add(s.Xb, x, dim);

                Ops.RmsNorm(x, L.FfnNorm, s.Xb, dim, c.RmsEpsilon);
                MatVec(in L.Gate, s.Xb, s.Hb);
                MatVec(in L.Up, s.Xb, s.Hb2);
                Ops.SwiGlu(s.Hb, s.Hb2, c.FeedForwardLength);
                MatVec(in L.Down, s.Hb, s.Xb);
                Ops.Add(s.Xb, x, dim);
            }
            if (computeLogits)
            {
                Ops.RmsNorm(x, _w.OutputNorm, s.Xb, dim, c.RmsEpsilon);
                MatVec(in _w.Output, s.Xb, s.LogitsBuf);
            }
            s.Position = pos + 1;
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

    private struct MatVecJob
    {
        public Matrix M;
        public float* X;
        public float* Y;
    }

    private const long ParallelThreshold = 1 << 16; // elements; below this the hand-off costs more than it saves

    private void MatVec(in Matrix m, float* x, float* y)
    {
        var job = new MatVecJob { M = m, X = x, Y = y };
        if (_pool.Count == 1 || (long)m.Rows * m.Cols < ParallelThreshold)
            MatVecRows(&job, 0, 1);
        else
            _pool.Run(&MatVecRows, &job);
    }

    private static void MatVecRows(void* ctx, int index, int count)
    {
        var job = (MatVecJob*)ctx;
        ref Matrix m = ref job->M;
        int per = (m.Rows + count - 1) / count;
        int start = index * per, end = Math.Min(m.Rows, start + per);
        var dot = m.Dot;
        for (int r = start; r < end; r++) job->Y[r] = dot(m.Data + r * m.RowBytes, job->X, m.Cols);
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
