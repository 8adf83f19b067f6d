using TtEngine.Runtime;

namespace TtEngine.Model;

/// <summary>
/// One conversation's state: its KV cache (capacity fixed at creation) and scratch buffers. Create with
/// <see cref="LlamaModel.CreateSequence"/>; several can be alive at once over the same model. A sequence is used by one
/// thread at a time; forward passes of different sequences are serialised by the model.
/// </summary>
public sealed unsafe class Sequence : IDisposable
{
    private readonly LlamaModel _model;
    private readonly NativeBuffer _kv;
    private readonly NativeBuffer _scratch;
    internal byte* KeyCache;     // [layers][kvHeads][capacity][headDim] elements of the model's KvElementBytes (F16 or F32)
    internal byte* ValueCache;   // same layout: each head's rows are contiguous, so attention streams them
    internal float* Att;         // [heads][AttStride] attention scores, one row per query head
    internal float* LogitsBuf;   // [vocab]
    internal int AttStride;      // floats between heads' score rows
    internal bool KvNonFinite;   // an Inf or NaN was cached (F16): attention then converts the cache exactly, not as half bits
    private bool _disposed;

    internal Sequence(LlamaModel model, int capacity)
    {
        _model = model;
        var c = model.Config;
        Capacity = capacity;
        long kvBytes = checked((long)c.BlockCount * capacity * c.KvDim * model.KvElementBytes);
        _kv = new NativeBuffer(checked(kvBytes * 2), hugePages: true); // attention streams it every token
        KeyCache = _kv.Pointer;
        ValueCache = _kv.Pointer + kvBytes;
        long Round(long n) => (n + 15) / 16 * 16; // keep every buffer 64-byte aligned
        // the forward-pass scratch lives in the model; a sequence keeps only its attention scores and logits
        _scratch = new NativeBuffer(((long)c.HeadCount * Round(capacity) + Round(c.VocabSize)) * 4);
        AttStride = (int)Round(capacity);
        Att = _scratch.Floats;
        LogitsBuf = Att + (long)c.HeadCount * AttStride;
    }

    /// <summary>The model this sequence belongs to.</summary>
    public LlamaModel Model => _model;

    /// <summary>Tokens held in the KV cache (the next token's position).</summary>
    public int Position { get; internal set; }

    /// <summary>Maximum number of tokens this sequence can hold.</summary>
    public int Capacity { get; }

    /// <summary>Logits produced by the last <see cref="Prefill"/> or <see cref="Decode"/> (vocab-sized; valid until the next call).</summary>
    public ReadOnlySpan<float> Logits => new(LogitsBuf, _model.Config.VocabSize);

    /// <summary>
    /// Feeds <paramref name="tokens"/> at positions Position.. and returns the logits after the last one.
    /// Throws <see cref="ContextLimitExceededException"/> (before touching the cache) if they do not fit.
    /// </summary>
    public ReadOnlySpan<float> Prefill(ReadOnlySpan<int> tokens, CancellationToken cancellationToken = default) =>
        Prefill(tokens, computeLogits: true, cancellationToken);

    /// <summary>
    /// Feeds <paramref name="tokens"/>; with <paramref name="computeLogits"/> false it skips the output projection (a
    /// whole vocabulary-sized matrix) and returns an empty span: for a prompt fed in several slices, only the last needs logits.
    /// </summary>
    public ReadOnlySpan<float> Prefill(ReadOnlySpan<int> tokens, bool computeLogits, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tokens.IsEmpty) throw new ArgumentException("no tokens to prefill", nameof(tokens));
        if ((long)Position + tokens.Length > Capacity) throw new ContextLimitExceededException(Position + tokens.Length - 1, Capacity);
        for (int i = 0; i < tokens.Length; i += LlamaModel.MaxBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(LlamaModel.MaxBatch, tokens.Length - i);
            _model.Forward(this, default, tokens.Slice(i, n), computeLogits: computeLogits && i + n == tokens.Length);
        }
        return computeLogits ? Logits : default;
    }

    /// <summary>Feeds one token and returns the next-token logits.</summary>
    public ReadOnlySpan<float> Decode(int token)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Position >= Capacity) throw new ContextLimitExceededException(Position, Capacity);
        _model.Forward(this, default, new ReadOnlySpan<int>(in token), computeLogits: true);
        return Logits;
    }

    /// <summary>Forgets cached tokens from <paramref name="position"/> on (0 clears the sequence).</summary>
    public void Truncate(int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, Position);
        Position = position;
        if (position == 0) KvNonFinite = false; // kept otherwise: the rows before position are not rescanned
    }

    /// <summary>
    /// Makes this sequence hold the first <paramref name="tokens"/> cached tokens of <paramref name="source"/> (same model),
    /// so a prompt that starts like an earlier one skips prefilling that part. Copies the K/V rows of every layer.
    /// </summary>
    public void CopyPrefixFrom(Sequence source, int tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        source.ThrowIfDisposed();
        if (!ReferenceEquals(source._model, _model)) throw new ArgumentException("the source sequence belongs to another model", nameof(source));
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tokens, source.Position);
        if (tokens > Capacity) throw new ContextLimitExceededException(tokens - 1, Capacity);
        var c = _model.Config;
        long row = (long)c.HeadDim * _model.KvElementBytes, bytes = row * tokens;
        for (int head = 0; head < c.BlockCount * c.HeadCountKv; head++) // every (layer, kv head) holds its own rows
        {
            long from = head * source.Capacity * row, to = head * Capacity * row;
            Buffer.MemoryCopy(source.KeyCache + from, KeyCache + to, bytes, bytes);
            Buffer.MemoryCopy(source.ValueCache + from, ValueCache + to, bytes, bytes);
        }
        Position = tokens;
        KvNonFinite = source.KvNonFinite;
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Frees the KV cache.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _kv.Dispose();
        _scratch.Dispose();
    }
}
