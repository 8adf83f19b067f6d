using System.Diagnostics;
using System.Text;
using TtEngine.Chat;
using TtEngine.Sampling;
using TtEngine.Tokenization;

namespace TtEngine.Model;

public sealed partial class LlamaModel
{
    /// <summary>The chat format chosen from tokenizer.chat_template (or the vocabulary).</summary>
    public ChatFormat ChatFormat => ChatTemplate.Detect(ChatTemplateSource, Tokenizer);

    /// <summary>
    /// Generates from a raw text prompt in a fresh sequence (BOS added as the vocabulary asks). Text pieces stream
    /// through <paramref name="onText"/> as soon as they are complete UTF-8 and cannot be part of a stop string.
    /// </summary>
    public GenerationResult Generate(string prompt, GenerationOptions? options = null, Action<string>? onText = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        int[] tokens = Tokenizer.Encode(prompt, addSpecial: true, parseSpecial: options.ParseSpecialInPrompt);
        using Sequence seq = CreateSequenceFor(tokens.Length, options.MaxTokens);
        return Generate(seq, tokens, options, onText, cancellationToken);
    }

    /// <summary>Generates the assistant's reply to <paramref name="messages"/> using the model's chat format.</summary>
    public GenerationResult GenerateChat(IReadOnlyList<ChatMessage> messages, GenerationOptions? options = null,
        Action<string>? onText = null, CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        string text = ChatTemplate.Apply(ChatFormat, messages);
        int[] tokens = Tokenizer.Encode(text, addSpecial: false, parseSpecial: true);
        using Sequence seq = CreateSequenceFor(tokens.Length, options.MaxTokens);
        return Generate(seq, tokens, options, onText, cancellationToken);
    }

    private Sequence CreateSequenceFor(int promptTokens, int maxTokens)
    {
        int dflt = Options.DefaultContextLength > 0 ? Options.DefaultContextLength : Math.Min(Config.ContextLength, 4096);
        long want = Math.Max(dflt, Math.Min((long)promptTokens + maxTokens, Config.ContextLength));
        return CreateSequence((int)Math.Min(want, Config.ContextLength));
    }

    /// <summary>
    /// Continues <paramref name="sequence"/>: prefills <paramref name="promptTokens"/>, then samples up to MaxTokens.
    /// Cancellation is checked between steps and ends with <see cref="StopReason.Cancelled"/> (no exception).
    /// Throws <see cref="ContextLimitExceededException"/> if the prompt alone does not fit.
    /// </summary>
    public GenerationResult Generate(Sequence sequence, ReadOnlySpan<int> promptTokens, GenerationOptions? options = null,
        Action<string>? onText = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence.Model != this) throw new ArgumentException("the sequence belongs to another model", nameof(sequence));
        options ??= new GenerationOptions();
        if (promptTokens.IsEmpty) throw new ArgumentException("the prompt has no tokens", nameof(promptTokens));
        long start = Stopwatch.GetTimestamp();
        int promptCount = promptTokens.Length;
        var sampler = new Sampler(options.Sampling, Config.VocabSize);
        var history = new List<int>(promptTokens.Length + options.MaxTokens);
        history.AddRange(promptTokens);
        var generated = new List<int>();
        var detok = new StreamingDetokenizer(Tokenizer, stripLeadingSpace: sequence.Position == 0 && promptTokens.Length == 1 && promptTokens[0] == Tokenizer.BosId);
        var stops = new StopStringFilter(options.StopStrings);
        var text = new StringBuilder();
        void Emit(string s)
        {
            if (s.Length == 0) return;
            text.Append(s);
            onText?.Invoke(s);
        }

        StopReason reason;
        TimeSpan prompt = TimeSpan.Zero, ttft = TimeSpan.Zero;
        long firstToken = 0;
        if (cancellationToken.IsCancellationRequested)
        {
            reason = StopReason.Cancelled;
        }
        else
        {
            ReadOnlySpan<float> logits;
            try
            {
                logits = sequence.Prefill(promptTokens, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return Result(StopReason.Cancelled);
            }
            prompt = Stopwatch.GetElapsedTime(start);
            while (true)
            {
                if (cancellationToken.IsCancellationRequested) { reason = StopReason.Cancelled; break; }
                if (generated.Count >= options.MaxTokens) { reason = StopReason.MaxTokens; break; }
                int token = sampler.Sample(logits, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(history));
                if (generated.Count == 0)
                {
                    firstToken = Stopwatch.GetTimestamp();
                    ttft = Stopwatch.GetElapsedTime(start);
                }
                generated.Add(token);
                history.Add(token);
                if (options.StopOnEndOfGeneration && Tokenizer.IsEndOfGeneration(token)) { reason = StopReason.EndOfGeneration; break; }
                var (emit, stopped) = stops.Push(detok.Push(token));
                Emit(emit);
                if (stopped) { reason = StopReason.StopString; break; }
                if (generated.Count >= options.MaxTokens) { reason = StopReason.MaxTokens; break; }
                if (sequence.Position >= sequence.Capacity) { reason = StopReason.ContextLimit; break; }
                logits = sequence.Decode(token);
            }
            if (reason != StopReason.StopString)
            {
                var (emit, _) = stops.Push(detok.Flush());
                Emit(emit + stops.Flush());
            }
        }
        return Result(reason);

        GenerationResult Result(StopReason r) => new()
        {
            PromptTokens = promptCount,
            GeneratedTokens = generated.Count,
            StopReason = r,
            Tokens = generated,
            Text = text.ToString(),
            TimeToFirstToken = ttft,
            PromptDuration = prompt,
            GenerationDuration = firstToken == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(firstToken),
        };
    }
}
