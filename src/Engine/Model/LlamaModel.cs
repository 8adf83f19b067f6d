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

    // Forward-pass scratch, owned by the model (forward passes are serialised): [MaxBatch][...] each, 64-byte aligned.
    private readonly NativeBuffer _scratch;
    private readonly float* _x, _xb, _q, _k, _v, _attOut, _hb, _hb2;   // [B][dim] [B][dim] [B][qDim] [B][kvDim] ×2 [B][qDim] [B][ff] ×2
    private readonly NativeBuffer _qxBuffer;
    private readonly byte* _qx;             // [B][Q8Act.RowBytes(max cols)] quantized activations
    private float* _qxSrc;                  // which float rows _qx currently holds (null = none)
    private int _qxCols;
    private bool _qxSuper;                  // _qx has one scale per 256 elements (for K-quant matrices)
    private readonly bool _useQ8;           // some matrix has an integer kernel and options allow it
    private readonly Sequence[] _batchSeq = new Sequence[MaxBatch];
    private readonly int[] _batchPos = new int[MaxBatch];
    private NativeBuffer? _batchLogits;     // [MaxBatch][vocab], allocated at the first multi-sequence DecodeBatch
    private NativeBuffer? _prefillScores;   // prefill attention scores (PrefillAttentionHeads), grown with the longest sequence
    private readonly bool _kvF16;           // KV cache elements are halves (converted in attention)
    private readonly NativeBuffer _kvRows;  // [threads][AttentionChunk][RoundUp(headDim)] F16 rows converted to float, per thread
    private readonly int _kvRowStride;

    private LlamaModel(GgufFile file, LlamaWeights weights, LlamaConfig config, EngineOptions options)
    {
        _file = file;
        _w = weights;
        Config = config;
        Options = options;
        int threads = options.Threads > 0 ? options.Threads : CpuTopology.PhysicalCores;
        _pool = new WorkerPool(threads);

        var c = config;
        static long Round(long n) => (n + 15) / 16 * 16;
        const int B = MaxBatch;
        long dimN = Round((long)B * c.EmbeddingLength), qN = Round((long)B * c.QueryDim), kvN = Round((long)B * c.KvDim), ffN = Round((long)B * c.FeedForwardLength);
        _scratch = new NativeBuffer((dimN * 2 + qN * 2 + kvN * 2 + ffN * 2) * 4);
        float* p = _scratch.Floats;
        _x = p; p += dimN;
        _xb = p; p += dimN;
        _q = p; p += qN;
        _attOut = p; p += qN;
        _k = p; p += kvN;
        _v = p; p += kvN;
        _hb = p; p += ffN;
        _hb2 = p;
        _useQ8 = options.QuantizedActivations && weights.AnyIntegerKernel;
        if (_useQ8 && options.InterleaveWeights) InterleavedMatrices = weights.Interleave(_pool);
        int maxCols = Math.Max(Math.Max(c.EmbeddingLength, c.QueryDim), c.FeedForwardLength);
        _qxBuffer = new NativeBuffer(_useQ8 ? (long)B * Q8Act.RowBytes((maxCols + 31) / 32 * 32) : 64);
        _qx = _qxBuffer.Pointer;
        _kvF16 = options.KvCacheType == KvCacheType.F16;
        _kvRowStride = (int)Round(c.HeadDim);
        _kvRows = new NativeBuffer(_kvF16 ? (long)threads * AttentionChunk * _kvRowStride * 4 : 64);
    }

    /// <summary>Matrices copied at load into the 8-row interleaved form (<see cref="EngineOptions.InterleaveWeights"/>).</summary>
    public int InterleavedMatrices { get; }

    /// <summary>Of those, matrices whose half scales were moved out of the subnormal range at load (<see cref="ScaleShift"/>).</summary>
    internal int ScaleShiftedMatrices => _w.ScaleShiftedMatrices;

    /// <summary>Bytes per cached key or value element (2 for the F16 cache, 4 for F32).</summary>
    internal int KvElementBytes => _kvF16 ? 2 : 4;

    private float* BatchLogits()
    {
        _batchLogits ??= new NativeBuffer((long)MaxBatch * Config.VocabSize * 4);
        return _batchLogits.Floats;
    }

    /// <summary>Hyper-parameters.</summary>
    public LlamaConfig Config { get; }

    /// <summary>Options given at load.</summary>
    public EngineOptions Options { get; }

    /// <summary>The mapped GGUF file (metadata access).</summary>
    public GgufFile File => _file;

    /// <summary>Threads used per forward pass.</summary>
    public int Threads => _pool.Count;

    /// <summary>
    /// Weight bytes one decode step reads: every layer matrix plus the classifier (the embedding lookup reads one row only).
    /// With <see cref="KvBytesPerCachedToken"/> this gives the memory-bandwidth roofline of decode.
    /// </summary>
    public long WeightBytesPerToken
    {
        get
        {
            static long B(in Matrix m) => m.RowBytes * m.Rows;
            long sum = B(in _w.Output);
            foreach (ref readonly LayerWeights L in _w.Layers.AsSpan())
                sum += B(in L.Q) + B(in L.K) + B(in L.V) + B(in L.O) + B(in L.Gate) + B(in L.Up) + B(in L.Down);
            return sum;
        }
    }

    /// <summary>KV-cache bytes a decode step reads per token already in the cache (keys and values of every layer).</summary>
    public long KvBytesPerCachedToken => 2L * Config.BlockCount * Config.KvDim * KvElementBytes;

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

    /// <summary>Tokens per forward pass (prefill chunk, or sequences per batched decode): each weight row is read once for all of them.</summary>
    internal const int MaxBatch = 32;

    /// <summary>
    /// Decodes one token for each of several sequences in ONE forward pass (weights are read once for all of them) and
    /// leaves each sequence's next-token logits in its <see cref="Sequence.Logits"/>. tokens[i] is fed to sequences[i] at
    /// its current position. Sequences must be distinct, belong to this model and have room for one more token; batches
    /// larger than 32 run as several passes. Every sequence's result equals what <see cref="Sequence.Decode"/> gives
    /// (within float summation order). Allocates nothing in steady state.
    /// </summary>
    /// <exception cref="ContextLimitExceededException">A sequence is full (checked for all before anything runs).</exception>
    public void DecodeBatch(ReadOnlySpan<Sequence> sequences, ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (sequences.Length != tokens.Length)
            throw new ArgumentException($"{sequences.Length} sequences but {tokens.Length} tokens", nameof(tokens));
        for (int i = 0; i < sequences.Length; i++)
        {
            Sequence s = sequences[i] ?? throw new ArgumentNullException(nameof(sequences), $"sequences[{i}] is null");
            if (s.Model != this) throw new ArgumentException($"sequences[{i}] belongs to another model", nameof(sequences));
            s.ThrowIfDisposed();
            if (s.Position >= s.Capacity) throw new ContextLimitExceededException(s.Position, s.Capacity);
            for (int j = 0; j < i; j++)
                if (sequences[j] == s) throw new ArgumentException($"sequences[{i}] repeats sequences[{j}]", nameof(sequences));
        }
        for (int i = 0; i < sequences.Length; i += MaxBatch)
        {
            int n = Math.Min(MaxBatch, sequences.Length - i);
            Forward(null, sequences.Slice(i, n), tokens.Slice(i, n), computeLogits: true);
        }
    }

    /// <summary>
    /// Runs tokens[0..B) (B ≤ MaxBatch) through the model. With <paramref name="single"/>, all tokens belong to it at
    /// positions Position.. (prefill; logits of the last token when asked). Otherwise token b belongs to perToken[b] at
    /// its own position (batched decode; logits of every token). Every per-token result is computed exactly as for B = 1.
    /// </summary>
    internal void Forward(Sequence? single, ReadOnlySpan<Sequence> perToken, ReadOnlySpan<int> tokens, bool computeLogits)
    {
        var c = Config;
        int B = tokens.Length;
        if (B is < 1 or > MaxBatch) throw new ArgumentOutOfRangeException(nameof(tokens), B, $"batch must be 1..{MaxBatch} tokens");
        foreach (int token in tokens)
            if ((uint)token >= (uint)c.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(tokens), token, $"token id outside the vocabulary (size {c.VocabSize})");
        if (single is not null && (long)single.Position + B > single.Capacity) throw new ContextLimitExceededException(single.Position + B - 1, single.Capacity);
        lock (_forwardLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var seqs = _batchSeq;
            var positions = _batchPos;
            for (int b = 0; b < B; b++)
            {
                seqs[b] = single ?? perToken[b];
                positions[b] = single is not null ? single.Position + b : perToken[b].Position;
            }
            int dim = c.EmbeddingLength, hd = c.HeadDim, kvDim = c.KvDim, qDim = c.QueryDim, ff = c.FeedForwardLength;
            int group = c.HeadCount / c.HeadCountKv;
            float* x = _x;                         // [B][dim]
            for (int b = 0; b < B; b++)
                Quants.Dequantize(_w.TokenEmbedding.Type, _w.TokenEmbedding.Data + tokens[b] * _w.TokenEmbedding.RowBytes, x + b * dim, dim);
            float scale = 1f / MathF.Sqrt(hd);
            for (int l = 0; l < c.BlockCount; l++)
            {
                ref LayerWeights L = ref _w.Layers[l];
                for (int b = 0; b < B; b++) Ops.RmsNorm(x + b * dim, L.AttnNorm, _xb + b * dim, dim, c.RmsEpsilon);
                PrepareInput(_xb, dim, B, SuperBlocks(in L.Q));
                MatMul(in L.Q, _xb, _q, B);
                MatMul(in L.K, _xb, _k, B);
                MatMul(in L.V, _xb, _v, B);
                for (int b = 0; b < B; b++)
                {
                    Sequence s = seqs[b];
                    int pos = positions[b];
                    Rope(_q + b * qDim, c.HeadCount, pos);
                    Rope(_k + b * kvDim, c.HeadCountKv, pos);
                    for (int h = 0; h < c.HeadCountKv; h++)
                    {
                        long at = (((long)l * c.HeadCountKv + h) * s.Capacity + pos) * hd;
                        StoreKv(_k + b * kvDim + h * hd, s, s.KeyCache, at, hd);
                        StoreKv(_v + b * kvDim + h * hd, s, s.ValueCache, at, hd);
                    }
                }
                if (single is not null && B > 1)
                {
                    // prefill: the B tokens' attention together, each cached row loaded and converted once per 8 tokens
                    Sequence s = single;
                    long layerOff = (long)l * c.HeadCountKv * s.Capacity * hd * KvElementBytes;
                    var att = new AttentionJob
                    {
                        Q = _q, KBase = s.KeyCache + layerOff, VBase = s.ValueCache + layerOff, Att = PrefillScores(s.AttStride),
                        Out = _attOut, Rows = _kvF16 ? _kvRows.Floats : null, RowStride = _kvRowStride,
                        HeadBytes = (long)s.Capacity * hd * KvElementBytes, AttStride = s.AttStride, Heads = c.HeadCount,
                        Group = group, HeadDim = hd, Pos = positions[0], Scale = scale, Tokens = B,
                    };
                    UseHalfBits(ref att, s, _q, B * qDim);
                    if (_pool.Count == 1) PrefillAttentionHeads(&att, 0, 1);
                    else _pool.Run(&PrefillAttentionHeads, &att);
                }
                else for (int b = 0; b < B; b++)
                {
                    Sequence s = seqs[b];
                    long layerOff = (long)l * c.HeadCountKv * s.Capacity * hd * KvElementBytes;
                    var att = new AttentionJob
                    {
                        Q = _q + b * qDim, KBase = s.KeyCache + layerOff, VBase = s.ValueCache + layerOff, Att = s.Att,
                        Out = _attOut + b * qDim, Rows = _kvF16 ? _kvRows.Floats : null, RowStride = _kvRowStride,
                        HeadBytes = (long)s.Capacity * hd * KvElementBytes, AttStride = s.AttStride, Heads = c.HeadCount,
                        Group = group, HeadDim = hd, Pos = positions[b], Scale = scale,
                    };
                    UseHalfBits(ref att, s, _q + b * qDim, qDim);
                    if (_pool.Count == 1 || (long)(positions[b] + 1) * qDim < ParallelThreshold)
                        AttentionHeads(&att, 0, 1);
                    else
                        _pool.Run(&AttentionHeads, &att);
                }
                PrepareInput(_attOut, qDim, B, SuperBlocks(in L.O));
                MatMul(in L.O, _attOut, _xb, B);
                Ops.Add(_xb, x, B * dim);

                for (int b = 0; b < B; b++) Ops.RmsNorm(x + b * dim, L.FfnNorm, _xb + b * dim, dim, c.RmsEpsilon);
                PrepareInput(_xb, dim, B, SuperBlocks(in L.Gate));
                MatMul(in L.Gate, _xb, _hb, B);
                MatMul(in L.Up, _xb, _hb2, B);
                Ops.SwiGlu(_hb, _hb2, B * ff);
                PrepareInput(_hb, ff, B, SuperBlocks(in L.Down));
                MatMul(in L.Down, _hb, _xb, B);
                Ops.Add(_xb, x, B * dim);
            }
            if (computeLogits && single is not null)
            {
                Ops.RmsNorm(x + (B - 1) * dim, _w.OutputNorm, _xb, dim, c.RmsEpsilon);
                PrepareInput(_xb, dim, 1, SuperBlocks(in _w.Output));
                MatMul(in _w.Output, _xb, single.LogitsBuf, 1);
            }
            else if (computeLogits)
            {
                for (int b = 0; b < B; b++) Ops.RmsNorm(x + b * dim, _w.OutputNorm, _xb + b * dim, dim, c.RmsEpsilon);
                PrepareInput(_xb, dim, B, SuperBlocks(in _w.Output));
                float* logits = B == 1 ? seqs[0].LogitsBuf : BatchLogits();
                MatMul(in _w.Output, _xb, logits, B);
                if (B > 1)
                    for (int b = 0; b < B; b++)
                        Buffer.MemoryCopy(logits + (long)b * c.VocabSize, seqs[b].LogitsBuf, c.VocabSize * 4L, c.VocabSize * 4L);
            }
            for (int b = 0; b < B; b++) seqs[b].Position = positions[b] + 1;
            Array.Clear(seqs, 0, B); // do not keep sequences alive from the model
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

    /// <summary>cache[at..at+n) = x[0..n) as halves (F16 cache) or floats.</summary>
    private void StoreKv(float* x, Sequence s, byte* cache, long at, int n)
    {
        if (_kvF16)
        {
            Ops.FloatToHalf(x, (ushort*)cache + at, n);
            if (Ops.AnyHalfNonFinite((ushort*)cache + at, n)) s.KvNonFinite = true; // read exactly from now on (UseHalfBits)
        }
        else Buffer.MemoryCopy(x, (float*)cache + at, n * 4L, n * 4L);
    }

    private struct AttentionJob
    {
        public float* Q;       // [heads][hd] roped queries
        public byte* KBase;    // this layer's key cache [kvHeads][capacity][hd] (F16 or F32)
        public byte* VBase;    // this layer's value cache, same layout
        public float* Att;     // [heads][AttStride] scratch scores
        public float* Out;     // [heads][hd]
        public float* Rows;    // F16 cache: [threads][AttentionChunk][RowStride] converted rows; null for the F32 cache
        public bool HalfBits;  // F16 cache read as half bits (value / 2^112): Q and Scale carry 2^56 each, probabilities 2^112
        public long HeadBytes; // bytes between kv heads in KBase/VBase (capacity · hd · element size)
        public int RowStride, AttStride, Heads, Group, HeadDim, Pos;
        public float Scale;
        public int Tokens;     // prefill: tokens at positions Pos.., queries and outputs qDim (Heads · hd) apart; Att is then
                               // the prefill score scratch [threads][PrefillAttentionTokens][group][AttStride]
    }

    /// <summary>Prefill tokens whose scores one pass over a head's cached rows computes (the rows are loaded once for all).</summary>
    private const int PrefillAttentionTokens = 8;

    /// <summary>The prefill score scratch for sequences of <paramref name="attStride"/> positions, grown on demand (prefill only, never per decoded token).</summary>
    private float* PrefillScores(int attStride)
    {
        long bytes = (long)_pool.Count * PrefillAttentionTokens * (Config.HeadCount / Config.HeadCountKv) * attStride * 4;
        if (_prefillScores is null || _prefillScores.Bytes < bytes)
        {
            _prefillScores?.Dispose();
            _prefillScores = new NativeBuffer(bytes, clear: false);
        }
        return _prefillScores.Floats;
    }

    /// <summary>
    /// <see cref="AttentionHeads"/> for <see cref="AttentionJob.Tokens"/> consecutive prompt tokens of one sequence, 8 at a
    /// time: each chunk of cached key and value rows is loaded (and converted, for the F16 cache) once for 8 tokens and
    /// all query heads of the group, where token-by-token attention loaded it once per token. Every token goes through
    /// the same chunks, scores, softmax and sums as on its own, so the result is bit-identical to it.
    /// </summary>
    private static void PrefillAttentionHeads(void* ctx, int index, int count)
    {
        var j = (AttentionJob*)ctx;
        int hd = j->HeadDim, group = j->Group, kvHeads = j->Heads / group, qStride = j->Heads * hd;
        int per = (kvHeads + count - 1) / count;
        int start = index * per, end = Math.Min(kvHeads, start + per);
        float* buf = j->Rows + (long)index * AttentionChunk * j->RowStride;
        long ss = j->AttStride;
        float* scores = j->Att + (long)index * PrefillAttentionTokens * group * ss; // [token][g][position]
        for (int kvh = start; kvh < end; kvh++)
        {
            int h0 = kvh * group;
            byte* k = j->KBase + kvh * j->HeadBytes;
            byte* v = j->VBase + kvh * j->HeadBytes;
            for (int b0 = 0; b0 < j->Tokens; b0 += PrefillAttentionTokens)
            {
                int nt = Math.Min(PrefillAttentionTokens, j->Tokens - b0);
                PrefillPass(j, k, values: false, h0, b0, nt, scores, buf);
                for (int b = 0; b < nt; b++)
                    for (int g = 0; g < group; g++)
                    {
                        Ops.Softmax(scores + (b * group + g) * ss, j->Pos + b0 + b + 1, ProbabilityFactor(j)); // the positions token b sees
                        new Span<float>(j->Out + (long)(b0 + b) * qStride + (h0 + g) * hd, hd).Clear();
                    }
                PrefillPass(j, v, values: true, h0, b0, nt, scores, buf);
            }
        }
    }

    /// <summary>
    /// One pass of <see cref="PrefillAttentionHeads"/> over the cached rows of the KV head whose first query head is
    /// <paramref name="h0"/>, for tokens b0..b0+nt: the scores against the keys, or the score-weighted sum of the values.
    /// Each chunk of rows is converted once and used by every token that sees it, over the rows that token sees.
    /// </summary>
    private static void PrefillPass(AttentionJob* j, byte* cache, bool values, int h0, int b0, int nt, float* scores, float* buf)
    {
        int hd = j->HeadDim, group = j->Group, qStride = j->Heads * hd;
        long ss = j->AttStride;
        int first = j->Pos + b0 + 1, last = first + nt - 1; // positions seen by the first and the last token
        for (int t = 0; t < last; t += AttentionChunk)
        {
            int m = Math.Min(AttentionChunk, last - t);
            float* rows = CachedRows(j, cache, t, m, buf, t + AttentionChunk < last ? CachedRow(j, cache, t + AttentionChunk) : null);
            for (int b = Math.Max(0, t + 1 - first); b < nt; b++)
            {
                int mb = Math.Min(m, first + b - t);
                float* qo = (values ? j->Out : j->Q) + (long)(b0 + b) * qStride + h0 * hd; // the token's queries or outputs
                for (int g = 0; g < group; g++)
                {
                    float* att = scores + (b * group + g) * ss + t;
                    if (values) Ops.WeightedSum(att, rows, hd, mb, qo + g * hd);
                    else Ops.Scores(qo + g * hd, rows, hd, mb, j->Scale, att);
                }
            }
        }
    }

    /// <summary>Cached rows attention handles per step: F16 rows are converted to float once per chunk for all query heads of the group.</summary>
    private const int AttentionChunk = 32;

    /// <summary>
    /// Rows t..t+m of one head's cache as floats: in place for an F32 cache, converted into <paramref name="buf"/> for F16
    /// (as half bits when the job says so), prefetching <paramref name="next"/>, the rows converted after these (or null).
    /// </summary>
    private static float* CachedRows(AttentionJob* j, byte* head, int t, int m, float* buf, byte* next)
    {
        int hd = j->HeadDim;
        if (j->Rows == null) return (float*)head + (long)t * hd;
        if (j->HalfBits) Ops.HalfBitsToFloat((ushort*)head + (long)t * hd, buf, m * hd, next);
        else Ops.HalfToFloat((ushort*)head + (long)t * hd, buf, m * hd);
        return buf;
    }

    /// <summary>Row t of one head's F16 cache (where a chunk's prefetch points), or null for the F32 cache (not prefetched).</summary>
    private static byte* CachedRow(AttentionJob* j, byte* head, int t) =>
        j->Rows == null ? null : head + (long)t * j->HeadDim * sizeof(ushort);

    /// <summary>
    /// The queries' factor when the cache is read as half bits: q·2⁵⁶ times k/2¹¹² is q·k/2⁵⁶, a normal float for every
    /// product above 2⁻⁷⁰ (the scores' scale takes the 2⁵⁶ back), where q times k/2¹¹² would be subnormal for products
    /// below 2⁻¹⁴, and every FMA with a subnormal takes a microcode assist.
    /// </summary>
    private const float QueryHalfBitsFactor = 72057594037927936f; // 2^56

    /// <summary>Queries at or above this (2⁶⁴) are not scaled, and their sequence's F16 cache is converted exactly instead.</summary>
    private const float QueryHalfBitsLimit = 18446744073709551616f;

    /// <summary>
    /// Sets up <paramref name="att"/> to read the F16 cache as half bits (<see cref="Ops.HalfBitsToFloat"/>, three
    /// operations per 8 halves instead of 8): scales the n query floats by <see cref="QueryHalfBitsFactor"/> in place. Not
    /// for the F32 cache, a sequence whose cache holds an Inf or NaN (they would read as finite), or queries of 2⁶⁴ or
    /// more; those keep the exact conversion.
    /// </summary>
    private void UseHalfBits(ref AttentionJob att, Sequence s, float* q, int n)
    {
        if (!_kvF16 || s.KvNonFinite || !Ops.ScaleIfBelow(q, n, QueryHalfBitsFactor, QueryHalfBitsLimit)) return;
        att.HalfBits = true;
        att.Scale *= QueryHalfBitsFactor;
    }

    /// <summary>The probabilities' factor: 2¹¹² against values read as half bits (exact, see <see cref="Ops.Softmax(float*, int, float)"/>), else 1.</summary>
    private static float ProbabilityFactor(AttentionJob* j) => j->HalfBits ? Ops.HalfBitsUnit : 1f;

    /// <summary>
    /// Causal attention, softmax(q·Kᵀ·scale)·V over positions 0..pos, for a contiguous range of KV heads: each cached key
    /// and value row is loaded (and, for the F16 cache, converted) once for all query heads of its group (GQA). Each head's
    /// rows are contiguous in the cache, so the loop streams them, each chunk prefetching the next. A group of 4 over a
    /// cache read as half bits takes the four-head kernels (rows converted in registers); otherwise a chunk is converted
    /// into the thread's buffer and scored per head (8 keys at a time: 8 FMA chains, one horizontal reduction), the
    /// softmax uses the vectorised exp, and the value sum keeps 8 accumulators.
    /// </summary>
    private static void AttentionHeads(void* ctx, int index, int count)
    {
        var j = (AttentionJob*)ctx;
        int hd = j->HeadDim, pos = j->Pos, group = j->Group, n = pos + 1;
        int kvHeads = j->Heads / group;
        int per = (kvHeads + count - 1) / count;
        int start = index * per, end = Math.Min(kvHeads, start + per);
        float* buf = j->Rows + (long)index * AttentionChunk * j->RowStride; // F16: this thread's converted rows
        float probability = ProbabilityFactor(j);
        bool fourHeads = j->HalfBits && group == 4 && Ops.CanScoreFourHeads(hd); // Llama 3's 1B and 8B: 32 query heads over 8 KV heads
        bool fourHeadValues = j->HalfBits && group == 4 && Ops.CanWeighFourHeads(hd);
        for (int kvh = start; kvh < end; kvh++)
        {
            int h0 = kvh * group;
            byte* k = j->KBase + kvh * j->HeadBytes;
            byte* v = j->VBase + kvh * j->HeadBytes;
            // each chunk prefetches the next one read: the keys, then the values, then the next head's keys
            for (int t = 0; t < n; t += AttentionChunk)
            {
                int m = Math.Min(AttentionChunk, n - t);
                byte* next = t + AttentionChunk < n ? CachedRow(j, k, t + AttentionChunk) : CachedRow(j, v, 0);
                if (fourHeads)
                {
                    Ops.ScoresFourHeads(j->Q + h0 * hd, (ushort*)k + (long)t * hd, hd, m, j->Scale, j->Att + (long)h0 * j->AttStride + t, j->AttStride, buf, next);
                    continue;
                }
                float* rows = CachedRows(j, k, t, m, buf, next);
                for (int g = 0; g < group; g++)
                    Ops.Scores(j->Q + (h0 + g) * hd, rows, hd, m, j->Scale, j->Att + (long)(h0 + g) * j->AttStride + t);
            }
            for (int g = 0; g < group; g++)
            {
                Ops.Softmax(j->Att + (long)(h0 + g) * j->AttStride, n, probability);
                new Span<float>(j->Out + (h0 + g) * hd, hd).Clear();
            }
            for (int t = 0; t < n; t += AttentionChunk)
            {
                int m = Math.Min(AttentionChunk, n - t);
                byte* next = t + AttentionChunk < n ? CachedRow(j, v, t + AttentionChunk) : kvh + 1 < end ? CachedRow(j, k + j->HeadBytes, 0) : null;
                if (fourHeadValues)
                {
                    Ops.WeightedSumFourHeads(j->Att + (long)h0 * j->AttStride + t, j->AttStride, (ushort*)v + (long)t * hd, hd, m, j->Out + h0 * hd, next);
                    continue;
                }
                float* rows = CachedRows(j, v, t, m, buf, next);
                for (int g = 0; g < group; g++)
                    Ops.WeightedSum(j->Att + (long)(h0 + g) * j->AttStride + t, rows, hd, m, j->Out + (h0 + g) * hd);
            }
        }
    }

    private struct MatMulJob
    {
        public Matrix M;
        public float* X;    // [B][M.Cols]
        public byte* Xq;    // [B][Q8Act.RowBytes(M.Cols)] the same rows quantized (integer kernels), or null
        public float* Y;    // [B][M.Rows]
        public int B;
    }

    private const long ParallelThreshold = 1 << 16; // elements; below this the hand-off costs more than it saves

    /// <summary>
    /// Quantizes x[B][cols] to Q8 rows once for every integer-kernel matrix that reads it next (one scale per 32 elements,
    /// or per 256 for K-quants; if the readers differ, the second kind quantizes again).
    /// </summary>
    private void PrepareInput(float* x, int cols, int b, bool superBlocks)
    {
        if (!_useQ8 || cols % 32 != 0) return;
        int stride = Q8Act.RowBytes(cols);
        for (int i = 0; i < b; i++) Q8Act.Quantize(x + (long)i * cols, _qx + (long)i * stride, cols, superBlocks);
        _qxSrc = x;
        _qxCols = cols;
        _qxSuper = superBlocks;
    }

    /// <summary>Whether <paramref name="m"/> reads activations with one scale per 256 elements (the K-quants).</summary>
    private static bool SuperBlocks(in Matrix m) => m.SuperBlockActivations;

    /// <summary>Y[b] = M · X[b] for b &lt; B; each weight row is loaded once and used for all B vectors.</summary>
    private void MatMul(in Matrix m, float* x, float* y, int b)
    {
        var job = new MatMulJob { M = m, X = x, Y = y, B = b };
        if (m.QDot != null && _useQ8)
        {
            bool super = SuperBlocks(in m);
            if (_qxSrc != x || _qxCols != m.Cols || _qxSuper != super) PrepareInput(x, m.Cols, b, super);
            job.Xq = _qx;
        }
        if (_pool.Count == 1 || (long)m.Rows * m.Cols * b < ParallelThreshold)
            MatMulRows(&job, 0, 1);
        else
            _pool.Run(&MatMulRows, &job);
        if (y == _qxSrc) _qxSrc = null;
    }

    private static void MatMulRows(void* ctx, int index, int count)
    {
        var job = (MatMulJob*)ctx;
        ref Matrix m = ref job->M;
        int per = (m.Rows + count - 1) / count;
        int start = index * per, end = Math.Min(m.Rows, start + per);
        int cols = m.Cols, rows = m.Rows, nb = job->B;
        if (job->Xq != null && m.Packed != null)
        {
            // whole groups of 8 rows per thread
            int groups = rows / RowGroups.Rows, gPer = (groups + count - 1) / count;
            int g0 = Math.Min(groups, index * gPer), g1 = Math.Min(groups, g0 + gPer);
            long stride = Q8Act.RowBytes(cols);
            if (g1 <= g0) return;
            m.GroupDot(m.Packed + g0 * m.PackedGroupBytes, g1 - g0, job->Xq, stride, nb, job->Y + g0 * RowGroups.Rows, rows, cols);
            if (m.PackedScaleShift != 0)
                for (int b = 0; b < nb; b++) ScaleShift.Undo(job->Y + (long)b * rows + g0 * RowGroups.Rows, (g1 - g0) * RowGroups.Rows, m.PackedScaleShift);
            return;
        }
        if (job->Xq != null)
        {
            long stride = Q8Act.RowBytes(cols);
            if (nb == 1)
            {
                var qdot = m.QDot;
                for (int r = start; r < end; r++) job->Y[r] = qdot(m.Data + r * m.RowBytes, job->Xq, cols);
            }
            else
            {
                var multi = m.QDotMulti;
                for (int r = start; r < end; r++) multi(m.Data + r * m.RowBytes, job->Xq, stride, nb, job->Y + r, rows, cols);
            }
            return;
        }
        var dot = m.Dot;
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
        _scratch.Dispose();
        _qxBuffer.Dispose();
        _batchLogits?.Dispose();
        _prefillScores?.Dispose();
        _kvRows.Dispose();
        _w.Dispose();
        _file.Dispose();
    }
}
