using System.Diagnostics;
using System.Runtime.InteropServices;
using TtEngine.Chat;
using TtEngine.Model;
using TtEngine.Sampling;
using TtEngine.Tokenization;
using Ttnoded.Jobs;

namespace Ttnoded.Inference;

/// <summary>
/// Continuous batching for one loaded model: a single engine thread steps every active request in turn. A newcomer
/// joins at the next step; its prompt is prefilled in chunks of at most <see cref="PrefillChunk"/> tokens between the
/// others' decode steps, so a long prompt never stalls running requests for more than one chunk. A request leaves as
/// soon as it stops (end of generation, stop string, max tokens, context full) or is cancelled (checked every step).
/// All requests past their prompt are decoded together by <see cref="LlamaModel.DecodeBatch"/>: the weights are read
/// once per step for the whole batch. A finished request's KV cache goes to the <see cref="PrefixCache"/>, so a later
/// prompt that starts the same way copies that part instead of prefilling it.
/// </summary>
public sealed class BatchingModelRunner : IDisposable
{
    /// <summary>Largest prompt slice prefilled in one step (bounds the stall a newcomer causes the others).</summary>
    public const int PrefillChunk = 64;

    private readonly LlamaModel _model;
    private readonly Lock _gate = new();
    private readonly Queue<Request> _incoming = new();
    private readonly List<Request> _active = [];
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly Thread _thread;
    private volatile bool _stopping;
    private Sequence[] _batchSeqs = new Sequence[8];
    private int[] _batchTokens = new int[8];
    private Request[] _batchReqs = new Request[8];
    private readonly PrefixCache _prefix;
    private long _kvUsed, _kvCapacity;

    /// <param name="model">The loaded model.</param>
    /// <param name="name">Its name (names the engine thread).</param>
    /// <param name="prefixCacheBytes">KV memory kept for prefix reuse after requests finish (0 = off).</param>
    /// <param name="prefixStats">Where prefix-reuse counters go (kept by the caller across reloads).</param>
    public BatchingModelRunner(LlamaModel model, string name, long prefixCacheBytes = 0, PrefixCacheStats? prefixStats = null)
    {
        _model = model;
        _prefix = new PrefixCache(prefixCacheBytes, model.KvBytesPerCachedToken, prefixStats ?? new PrefixCacheStats());
        _thread = new Thread(Loop) { IsBackground = true, Name = "engine " + name };
        _thread.Start();
    }

    /// <summary>Requests being generated right now (for metrics and the KV-cache gauge).</summary>
    public int ActiveCount { get { lock (_gate) return _active.Count + _incoming.Count; } }

    /// <summary>KV cache of the running sequences after the last step: tokens held and slots allocated.</summary>
    public (long Used, long Capacity) KvTokens => (Interlocked.Read(ref _kvUsed), Interlocked.Read(ref _kvCapacity));

    /// <summary>Runs one job to its end on this model; completes when the request leaves the batch.</summary>
    public Task<ExecutionResult> RunAsync(JobRecord job, GenerationOptions options, IJobSink sink, CancellationToken ct)
    {
        var r = new Request(job, options, sink, ct);
        lock (_gate) _incoming.Enqueue(r);
        _wake.Release();
        return r.Done.Task;
    }

    private sealed class Request(JobRecord job, GenerationOptions options, IJobSink sink, CancellationToken ct)
    {
        public JobRecord Job { get; } = job;
        public GenerationOptions Options { get; } = options;
        public IJobSink Sink { get; } = sink;
        public CancellationToken Ct { get; } = ct;
        public TaskCompletionSource<ExecutionResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Sequence? Seq;
        public int[] Prompt = [];
        public int Prefilled;
        public Sampler? Sampler;
        public List<int> History = [];
        public StreamingDetokenizer? Detok;
        public StopStringFilter? Stops;
        public int Generated;
        public int LastToken = -1;
        public int[]? TopIds;          // logprobs asked: scratch for the top alternatives
        public float[]? TopLogprobs;
        public long Start = Stopwatch.GetTimestamp();
        public long FirstToken;
    }

    private void Loop()
    {
        while (!_stopping)
        {
            lock (_gate)
                while (_incoming.TryDequeue(out var r)) Admit(r);
            int count;
            lock (_gate) count = _active.Count;
            if (count == 0)
            {
                _wake.Wait(TimeSpan.FromMilliseconds(250));
                continue;
            }
            // 1. Prefill: each newcomer advances by one chunk; one whose prompt is done samples its first token.
            // 2. Decode: every request past its prompt gets its next token from ONE batched forward pass.
            int decoding = 0;
            for (int i = 0; i < count; i++)
            {
                Request r;
                lock (_gate) r = _active[i];
                if (r.Done.Task.IsCompleted) continue;
                try
                {
                    if (r.Ct.IsCancellationRequested) Finish(r, StopReason.Cancelled);
                    else if (r.Generated == 0) PrefillStep(r);
                    else
                    {
                        if (decoding == _batchSeqs.Length) { Array.Resize(ref _batchSeqs, decoding * 2); Array.Resize(ref _batchTokens, decoding * 2); Array.Resize(ref _batchReqs, decoding * 2); }
                        _batchSeqs[decoding] = r.Seq!;
                        _batchTokens[decoding] = r.LastToken;
                        _batchReqs[decoding++] = r;
                    }
                }
                catch (Exception e) { r.Done.TrySetException(e); }
            }
            if (decoding > 0)
            {
                try
                {
                    _model.DecodeBatch(_batchSeqs.AsSpan(0, decoding), _batchTokens.AsSpan(0, decoding));
                    for (int i = 0; i < decoding; i++)
                    {
                        var r = _batchReqs[i];
                        try { SampleAndEmit(r, r.Seq!.Logits); }
                        catch (Exception e) { r.Done.TrySetException(e); }
                    }
                }
                catch (Exception e)
                {
                    for (int i = 0; i < decoding; i++) _batchReqs[i].Done.TrySetException(e);
                }
                Array.Clear(_batchReqs, 0, decoding);
                Array.Clear(_batchSeqs, 0, decoding);
            }
            long used = 0, capacity = 0;
            lock (_gate)
            {
                foreach (var r in _active)
                {
                    if (r.Seq is null) continue;
                    if (r.Done.Task.IsCompleted) Retire(r);
                    else { used += r.Seq.Position; capacity += r.Seq.Capacity; }
                }
                _active.RemoveAll(r => r.Done.Task.IsCompleted);
            }
            Interlocked.Exchange(ref _kvUsed, used);
            Interlocked.Exchange(ref _kvCapacity, capacity);
        }
        lock (_gate)
        {
            foreach (var r in _active.Concat(_incoming)) { r.Seq?.Dispose(); r.Done.TrySetCanceled(); }
            _active.Clear();
            _incoming.Clear();
            _prefix.Dispose();
        }
        Interlocked.Exchange(ref _kvUsed, 0);
        Interlocked.Exchange(ref _kvCapacity, 0);
    }

    /// <summary>A finished request's KV cache goes to the prefix cache (unless the engine failed on it: then it is dropped).</summary>
    private void Retire(Request r)
    {
        var seq = r.Seq!;
        r.Seq = null;
        if (r.Done.Task.IsFaulted) seq.Dispose();
        else _prefix.Offer(seq, CollectionsMarshal.AsSpan(r.History));
    }

    /// <summary>Tokenizes the request and gives it a sequence; a bad request fails alone.</summary>
    private void Admit(Request r)
    {
        try
        {
            var req = r.Job.Request;
            bool chat = req.Messages is { Length: > 0 };
            r.Prompt = chat
                ? _model.Tokenizer.Encode(ChatTemplate.Apply(_model.ChatFormat, req.Messages!.Select(m => new ChatMessage(m.Role, m.Content)).ToList()), addSpecial: false, parseSpecial: true)
                : _model.Tokenizer.Encode(req.Prompt ?? "", addSpecial: true, parseSpecial: r.Options.ParseSpecialInPrompt);
            if (r.Prompt.Length == 0) throw new InvalidOperationException("the prompt has no tokens");
            int ctx = _model.Config.ContextLength;
            if (r.Prompt.Length >= ctx)
                throw new InvalidOperationException($"prompt is {r.Prompt.Length} tokens; the model's context is {ctx}");
            r.Seq = _model.CreateSequence((int)Math.Min(ctx, (long)r.Prompt.Length + r.Options.MaxTokens));
            if (req.Sampling?.CachePrompt != false) r.Prefilled = _prefix.Reuse(r.Prompt, r.Seq);
            r.Sampler = new Sampler(r.Options.Sampling, _model.Config.VocabSize);
            r.History = new List<int>(r.Prompt.Length + Math.Min(r.Options.MaxTokens, 4096));
            r.History.AddRange(r.Prompt);
            r.Detok = new StreamingDetokenizer(_model.Tokenizer, stripLeadingSpace: r.Prompt.Length == 1 && r.Prompt[0] == _model.Tokenizer.BosId);
            r.Stops = new StopStringFilter(r.Options.StopStrings);
            if (req.Sampling?.Logprobs is int top)
            {
                r.TopIds = new int[Math.Min(top, _model.Config.VocabSize)];
                r.TopLogprobs = new float[r.TopIds.Length];
            }
            r.Sink.OnPrompt(r.Prompt.Length);
            if (r.Prefilled > 0) r.Sink.OnPrefixReused(r.Prefilled);
            _active.Add(r);
        }
        catch (Exception e)
        {
            r.Seq?.Dispose();
            r.Done.TrySetException(e);
        }
    }

    /// <summary>One prefill chunk; when the prompt is complete, samples the first token.</summary>
    private void PrefillStep(Request r)
    {
        int n = Math.Min(PrefillChunk, r.Prompt.Length - r.Prefilled);
        bool last = r.Prefilled + n == r.Prompt.Length;
        var logits = r.Seq!.Prefill(r.Prompt.AsSpan(r.Prefilled, n), computeLogits: last); // middle slices need no logits
        r.Prefilled += n;
        if (r.Prefilled == r.Prompt.Length) SampleAndEmit(r, logits);
    }

    /// <summary>Samples the next token from <paramref name="logits"/>, streams its text, and ends the request if it stops.</summary>
    private void SampleAndEmit(Request r, ReadOnlySpan<float> logits)
    {
        int token = r.Sampler!.Sample(logits, CollectionsMarshal.AsSpan(r.History));
        if (r.Generated == 0) r.FirstToken = Stopwatch.GetTimestamp();
        r.Generated++;
        r.History.Add(token);
        r.LastToken = token;
        if (r.Options.StopOnEndOfGeneration && _model.Tokenizer.IsEndOfGeneration(token)) { Finish(r, StopReason.EndOfGeneration); return; }
        if (r.TopIds is not null) r.Sink.OnLogprob(Logprob(logits, token, r.TopIds, r.TopLogprobs!));
        var (emit, stopped) = r.Stops!.Push(r.Detok!.Push(token));
        if (emit.Length > 0) r.Sink.OnText(emit, token);
        if (stopped) Finish(r, StopReason.StopString, flush: false);
        else if (r.Generated >= r.Options.MaxTokens) Finish(r, StopReason.MaxTokens);
        else if (r.Seq!.Position >= r.Seq.Capacity) Finish(r, StopReason.ContextLimit);
    }

    /// <summary>The chosen token's log probability and the top alternatives, as the API reports them.</summary>
    private TtProtocol.Jobs.TokenLogprob Logprob(ReadOnlySpan<float> logits, int token, int[] topIds, float[] topLogprobs)
    {
        float lp = LogProbs.Of(logits, token, topIds, topLogprobs);
        var top = new TtProtocol.Jobs.TopLogprob[topIds.Length];
        for (int i = 0; i < top.Length; i++) top[i] = new(Piece(topIds[i]), Bytes(topIds[i]), topLogprobs[i]);
        return new TtProtocol.Jobs.TokenLogprob { Token = Piece(token), Bytes = Bytes(token), Logprob = lp, Top = top };
    }

    private string Piece(int id) => System.Text.Encoding.UTF8.GetString(_model.Tokenizer.TokenBytes(id));

    private int[] Bytes(int id)
    {
        var b = _model.Tokenizer.TokenBytes(id);
        var ints = new int[b.Length];
        for (int i = 0; i < b.Length; i++) ints[i] = b[i];
        return ints;
    }

    private static bool Finish(Request r, StopReason reason, bool flush = true)
    {
        if (flush && r.Detok is not null && r.Stops is not null)
        {
            var (emit, _) = r.Stops.Push(r.Detok.Flush());
            string tail = emit + r.Stops.Flush();
            if (tail.Length > 0) r.Sink.OnText(tail, r.LastToken);
        }
        double? ttft = r.Generated > 0 ? Stopwatch.GetElapsedTime(r.Start, r.FirstToken).TotalMilliseconds : null;
        double? tpot = r.Generated > 1 ? Stopwatch.GetElapsedTime(r.FirstToken).TotalMilliseconds / (r.Generated - 1) : null;
        string finish = reason switch
        {
            StopReason.Cancelled => "cancelled",
            StopReason.MaxTokens or StopReason.ContextLimit => "length",
            _ => "stop",
        };
        r.Done.TrySetResult(new ExecutionResult(finish, r.Prompt.Length, r.Generated, ttft, tpot));
        return true;
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Release();
        _thread.Join(TimeSpan.FromSeconds(10));
    }
}
