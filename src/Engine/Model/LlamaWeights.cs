using System.Diagnostics;
using TtEngine.Gguf;
using TtEngine.Kernels;
using TtEngine.Runtime;
using TtEngine.Tensors;

namespace TtEngine.Model;

/// <summary>A weight matrix viewed in the mapped file: Rows rows of Cols elements, each RowBytes long.</summary>
internal unsafe struct Matrix
{
    public byte* Data;      // [Rows][RowBytes]
    public GgmlType Type;
    public int Rows;
    public int Cols;
    public long RowBytes;
    public delegate*<byte*, float*, int, float> Dot;                                   // float activations
    public delegate*<byte*, byte*, int, float> QDot;                                    // Q8 activations, or null
    public delegate*<byte*, byte*, long, int, float*, long, int, void> QDotMulti;       // Q8 activations, several tokens
    public byte* Packed;    // the same rows interleaved in groups of 8 (RowGroups), or null: then Data is used
    public long PackedGroupBytes;
    public delegate*<byte*, int, byte*, long, int, float*, long, int, void> GroupDot; // kernel over consecutive packed groups of 8 rows
    public bool SuperBlockActivations; // a K-quant: activations get one scale per 256 elements (Q8Act.QuantizeSuperBlocks)
    public int PackedScaleShift;       // the packed scales are ×2^k (ScaleShift): GroupDot's results are to be ×2^-k
}

/// <summary>Per-block weights: norms copied to native floats, matrices are views into the map.</summary>
internal unsafe struct LayerWeights
{
    public float* AttnNorm; // [dim]
    public Matrix Q;        // [qDim rows][dim]
    public Matrix K;        // [kvDim][dim]
    public Matrix V;        // [kvDim][dim]
    public Matrix O;        // [dim][qDim]
    public float* FfnNorm;  // [dim]
    public Matrix Gate;     // [ff][dim]
    public Matrix Up;       // [ff][dim]
    public Matrix Down;     // [dim][ff]
}

internal sealed unsafe class LlamaWeights : IDisposable
{
    public Matrix TokenEmbedding;   // [vocab][dim]
    public Matrix Output;           // [vocab][dim], the embedding when tied
    public float* OutputNorm;       // [dim]
    public float* RopeInvFreq;      // [ropeDim/2]: base^(-2i/ropeDim) / freq_factor[i] / linear scale
    public LayerWeights[] Layers = [];
    public bool TiedEmbeddings;

    /// <summary>True when some matrix multiplies in the integer domain (then activations are quantized to Q8 rows).</summary>
    public bool AnyIntegerKernel
    {
        get
        {
            if (Output.QDot != null) return true;
            foreach (ref readonly LayerWeights L in Layers.AsSpan())
                if (L.Q.QDot != null || L.K.QDot != null || L.V.QDot != null || L.O.QDot != null || L.Gate.QDot != null || L.Up.QDot != null || L.Down.QDot != null)
                    return true;
            return false;
        }
    }
    private NativeBuffer? _floats;
    private NativeBuffer? _arena; // the interleaved matrices, in decode order

    public static LlamaWeights Load(GgufFile f, out LlamaConfig config)
    {
        if (!f.TryGetTensor("token_embd.weight", out var embInfo))
            throw new GgufFormatException(f.Path, "tensor 'token_embd.weight'", "missing");
        if (embInfo.Dimensions.Count != 2 || embInfo.Dimensions[1] > int.MaxValue)
            throw new GgufFormatException(f.Path, "tensor 'token_embd.weight'", $"shape [{string.Join(", ", embInfo.Dimensions)}] is not [dim, vocab]");
        config = LlamaConfig.FromGguf(f, (int)embInfo.Dimensions[1]);
        LlamaConfig c = config;
        var w = new LlamaWeights();
        int dim = c.EmbeddingLength;
        w.TokenEmbedding = Mat(f, "token_embd.weight", dim, c.VocabSize);
        w.TiedEmbeddings = !f.TryGetTensor("output.weight", out _);
        w.Output = w.TiedEmbeddings ? w.TokenEmbedding : Mat(f, "output.weight", dim, c.VocabSize);

        long floats = dim + c.RopeDimensionCount / 2 + (long)c.BlockCount * 2 * dim;
        w._floats = new NativeBuffer(floats * 4);
        float* p = w._floats.Floats;
        w.OutputNorm = Vec(f, "output_norm.weight", dim, ref p);
        w.RopeInvFreq = p;
        p += c.RopeDimensionCount / 2;
        int half = c.RopeDimensionCount / 2;
        // Llama 3.1 stores its frequency scaling as rope_freqs.weight: theta_i is divided by factor_i
        float[] factors = new float[half];
        bool hasFactors = f.TryGetTensor("rope_freqs.weight", out _);
        if (hasFactors)
        {
            fixed (float* fb = factors)
            {
                float* tmp = fb;
                Vec(f, "rope_freqs.weight", half, ref tmp);
            }
        }
        for (int i = 0; i < half; i++)
        {
            float inv = 1f / MathF.Pow(c.RopeFreqBase, 2 * i / (float)c.RopeDimensionCount);
            if (hasFactors) inv /= factors[i];
            w.RopeInvFreq[i] = inv / c.RopeLinearScale;
        }

        w.Layers = new LayerWeights[c.BlockCount];
        for (int l = 0; l < c.BlockCount; l++)
        {
            string b = $"blk.{l}.";
            ref LayerWeights L = ref w.Layers[l];
            L.AttnNorm = Vec(f, b + "attn_norm.weight", dim, ref p);
            L.Q = Mat(f, b + "attn_q.weight", dim, c.QueryDim);
            L.K = Mat(f, b + "attn_k.weight", dim, c.KvDim);
            L.V = Mat(f, b + "attn_v.weight", dim, c.KvDim);
            L.O = Mat(f, b + "attn_output.weight", c.QueryDim, dim);
            L.FfnNorm = Vec(f, b + "ffn_norm.weight", dim, ref p);
            L.Gate = Mat(f, b + "ffn_gate.weight", dim, c.FeedForwardLength);
            L.Up = Mat(f, b + "ffn_up.weight", dim, c.FeedForwardLength);
            L.Down = Mat(f, b + "ffn_down.weight", c.FeedForwardLength, dim);
        }
        return w;
    }

    private static GgufTensorInfo Find(GgufFile f, string name, long ne0, long ne1)
    {
        if (!f.TryGetTensor(name, out var t)) throw new GgufFormatException(f.Path, $"tensor '{name}'", "missing");
        var d = t.Dimensions;
        bool ok = ne1 < 0
            ? d.Count == 1 && d[0] == ne0
            : d.Count == 2 && d[0] == ne0 && d[1] == ne1;
        if (!ok)
            throw new GgufFormatException(f.Path, $"tensor '{name}'",
                $"shape [{string.Join(", ", d)}] is not the expected [{ne0}{(ne1 < 0 ? "" : ", " + ne1)}]");
        return t;
    }

    private static Matrix Mat(GgufFile f, string name, int cols, int rows)
    {
        var t = Find(f, name, cols, rows);
        if (!Quants.IsSupported(t.Type))
            throw new GgufFormatException(f.Path, $"tensor '{name}'", $"type {t.Type} is not supported");
        return new Matrix
        {
            Data = f.GetTensorPointer(t), Type = t.Type, Rows = rows, Cols = cols,
            RowBytes = GgmlTypeInfo.RowBytes(t.Type, cols), Dot = Dot.Get(t.Type),
            QDot = cols % 32 == 0 ? QDot.Get(t.Type) : null, QDotMulti = cols % 32 == 0 ? QDot.GetMulti(t.Type) : null,
            // K-quants meet activations with one scale per super-block, as llama.cpp's Q8_K: the interleaved kernels need
            // it, and the plain ones then see the same activations (a model gives the same logits packed or not)
            SuperBlockActivations = GgmlTypeInfo.BlockElements(t.Type) == Q8Act.SuperBlock,
        };
    }

    private static float* Vec(GgufFile f, string name, int n, ref float* dst)
    {
        var t = Find(f, name, n, -1);
        if (!Quants.IsSupported(t.Type))
            throw new GgufFormatException(f.Path, $"tensor '{name}'", $"type {t.Type} is not supported");
        Quants.Dequantize(t.Type, f.GetTensorPointer(t), dst, n);
        float* r = dst;
        dst += n;
        return r;
    }

    /// <summary>
    /// Interleaves every matrix that has an 8-row interleaved form (<see cref="RowGroups"/>: Q4_0, Q8_0, Q4_K, Q6_K) into native memory (split across the pool's
    /// threads) and releases the file pages it was read from. A matrix with a non-finite scale stays as it is.
    /// Returns the number of matrices interleaved.
    /// </summary>
    /// <remarks>
    /// All of them go into one arena on transparent huge pages, in the order a decode step reads them (the classifier, then
    /// layer by layer: a step ends with the classifier and the next one starts at layer 0), so the weight stream runs on
    /// across matrix boundaries and takes one TLB miss per 2 MiB. The classifier, the largest matrix, is packed first:
    /// packed last, its file pages and its copy would be resident on top of every other copy (+15% peak RSS on 1B).
    /// </remarks>
    public int Interleave(WorkerPool pool)
    {
        long total = 0;
        VisitInArenaOrder((ref Matrix m) => total += ArenaSlot(ref m));
        if (total == 0) return 0;
        _arena = new NativeBuffer(total, clear: false, hugePages: true);
        byte* next = _arena.Pointer;
        int count = 0;
        VisitInArenaOrder((ref Matrix m) =>
        {
            long slot = ArenaSlot(ref m);
            if (slot == 0) return;
            if (InterleaveInto(ref m, next, pool))
            {
                count++;
                if (m.PackedScaleShift != 0) ScaleShiftedMatrices++;
            }
            else PageAdvice.Release(next, slot); // a refused matrix's half-written slot goes back as zero pages
            next += slot;
        });
        return count;
    }

    /// <summary>Interleaved matrices whose scales were moved out of the subnormal range (<see cref="ScaleShift"/>).</summary>
    public int ScaleShiftedMatrices { get; private set; }

    private delegate void MatrixVisitor(ref Matrix m);

    private void VisitInArenaOrder(MatrixVisitor visit)
    {
        visit(ref Output);
        foreach (ref LayerWeights L in Layers.AsSpan())
        {
            visit(ref L.Q);
            visit(ref L.K);
            visit(ref L.V);
            visit(ref L.O);
            visit(ref L.Gate);
            visit(ref L.Up);
            visit(ref L.Down);
        }
    }

    /// <summary>Arena bytes for this matrix's interleaved form (64-byte aligned), or 0 if it has none.</summary>
    private static long ArenaSlot(ref Matrix m) =>
        m.Packed == null && m.QDot != null && RowGroups.TryGet(m.Type, m.Rows, m.Cols, out var form)
            ? (form.GroupBytes(m.Cols) * (m.Rows / RowGroups.Rows) + 63) / 64 * 64
            : 0;

    private static bool InterleaveInto(ref Matrix m, byte* dst, WorkerPool pool)
    {
        RowGroups.TryGet(m.Type, m.Rows, m.Cols, out var form);
        long groupBytes = form.GroupBytes(m.Cols);
        int* ranges = stackalloc int[2 * pool.Count]; // each thread's [min, max] scale exponent
        var job = new PackJob
        {
            Src = m.Data, RowBytes = m.RowBytes, Cols = m.Cols, Groups = m.Rows / RowGroups.Rows, Dst = dst, Pack = form.Pack,
            GroupBytes = groupBytes, ScaleBlockBytes = form.ScaleBlockBytes, ScaleHalves = form.ScaleHalves, Ranges = ranges,
        };
        pool.Run(&PackGroups, &job);
        if (job.NonFinite != 0) return false;
        PageAdvice.Release(m.Data, m.RowBytes * m.Rows);
        int min = int.MaxValue, max = int.MinValue;
        for (int t = 0; t < pool.Count; t++)
        {
            min = Math.Min(min, ranges[2 * t]);
            max = Math.Max(max, ranges[2 * t + 1]);
        }
        job.Shift = ScaleShift.For(min, max);
        if (job.Shift != 0) pool.Run(&ShiftGroups, &job);
        m.PackedScaleShift = job.Shift;
        m.Packed = dst;
        m.PackedGroupBytes = groupBytes;
        m.GroupDot = form.Dot;
        Debug.Assert(m.SuperBlockActivations == form.SuperBlockActivations);
        return true;
    }

    private struct PackJob
    {
        public byte* Src, Dst;
        public long RowBytes, GroupBytes;
        public int Cols, Groups, NonFinite;
        public delegate*<byte*, long, int, int, int, byte*, bool> Pack;
        public int ScaleBlockBytes, ScaleHalves, Shift;
        public int* Ranges;
    }

    private static void PackGroups(void* ctx, int index, int count)
    {
        var j = (PackJob*)ctx;
        var (g0, g1) = Share(j, index, count);
        if (!j->Pack(j->Src, j->RowBytes, j->Cols, g0, g1, j->Dst)) Interlocked.Exchange(ref j->NonFinite, 1);
        // the scales' range while the groups are still in cache
        int* range = j->Ranges + 2 * index;
        range[0] = int.MaxValue;
        range[1] = int.MinValue;
        ScaleShift.ExponentRange(j->Dst + g0 * j->GroupBytes, (g1 - g0) * j->GroupBytes, j->ScaleBlockBytes, j->ScaleHalves, ref range[0], ref range[1]);
    }

    private static void ShiftGroups(void* ctx, int index, int count)
    {
        var j = (PackJob*)ctx;
        var (g0, g1) = Share(j, index, count);
        ScaleShift.Apply(j->Dst + g0 * j->GroupBytes, (g1 - g0) * j->GroupBytes, j->ScaleBlockBytes, j->ScaleHalves, j->Shift);
    }

    private static (int, int) Share(PackJob* j, int index, int count)
    {
        int per = (j->Groups + count - 1) / count;
        int g0 = Math.Min(j->Groups, index * per);
        return (g0, Math.Min(j->Groups, g0 + per));
    }

    public void Dispose()
    {
        _floats?.Dispose();
        _arena?.Dispose();
        _arena = null;
    }
}
