using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TtEngine.Sampling;

/// <summary>Sampling settings. Temperature ≤ 0 means greedy (argmax after penalties).</summary>
public sealed class SamplingOptions
{
    /// <summary>Softmax temperature; ≤ 0 is greedy.</summary>
    public float Temperature { get; init; } = 0.8f;
    /// <summary>Keep the k most likely tokens (0 = all).</summary>
    public int TopK { get; init; } = 40;
    /// <summary>Keep the smallest set whose probability reaches p (1 = all).</summary>
    public float TopP { get; init; } = 0.95f;
    /// <summary>Drop tokens less likely than min_p × the most likely one (0 = off).</summary>
    public float MinP { get; init; } = 0.05f;
    /// <summary>Repetition penalty over the last <see cref="PenaltyLastN"/> tokens (1 = off): positive logits divided, negative multiplied.</summary>
    public float RepeatPenalty { get; init; } = 1f;
    /// <summary>Subtracted once from tokens present in the window.</summary>
    public float PresencePenalty { get; init; }
    /// <summary>Subtracted per occurrence in the window.</summary>
    public float FrequencyPenalty { get; init; }
    /// <summary>Penalty window (tokens).</summary>
    public int PenaltyLastN { get; init; } = 64;
    /// <summary>Added to the logits of the given token ids before anything else (e.g. -inf bans a token).</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    /// <summary>RNG seed; the same seed and input give the same output. Null = random.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Greedy decoding.</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0, TopK = 0, TopP = 1, MinP = 0 };
}

/// <summary>
/// Picks the next token: logit bias → penalties → top-k → top-p → min-p → temperature → draw (llama.cpp's default chain order).
/// Holds all working buffers; allocation-free per token. Not thread-safe (one per sequence).
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _o;
    private readonly float[] _logits;
    private readonly float[] _keys;
    private readonly int[] _ids;
    private readonly Dictionary<int, int> _counts = new();
    private ulong _state;

    /// <summary>Creates a sampler for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public Sampler(SamplingOptions options, int vocabSize)
    {
        _o = options;
        _logits = new float[vocabSize];
        _keys = new float[vocabSize];
        _ids = new int[vocabSize];
        _state = options.Seed ?? (ulong)Random.Shared.NextInt64();
    }

    /// <summary>Options in use.</summary>
    public SamplingOptions Options => _o;

    /// <summary>Chooses a token given the logits and the tokens so far (for penalties).</summary>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<int> history)
    {
        int n = logits.Length;
        if (n > _logits.Length) throw new ArgumentException("more logits than the vocabulary size", nameof(logits));
        Span<float> l = _logits.AsSpan(0, n);
        logits.CopyTo(l);
        if (_o.LogitBias is { } bias)
            foreach (var (id, b) in bias)
                if ((uint)id < (uint)n) l[id] += b;
        ApplyPenalties(l, history);

        if (_o.Temperature <= 0) return ArgMax(l);

        // candidates sorted by logit, descending (keys are negated logits)
        int count = n;
        for (int i = 0; i < n; i++)
        {
            _ids[i] = i;
            _keys[i] = -l[i];
        }
        int k = _o.TopK > 0 ? Math.Min(_o.TopK, n) : n;
        if (k < n) SelectTop(k, n);
        Array.Sort(_keys, _ids, 0, k);
        count = k;

        // probabilities of the (untempered) candidates for top-p and min-p
        float max = -_keys[0];
        double sum = 0;
        for (int i = 0; i < count; i++) sum += Math.Exp(-_keys[i] - max);
        if (_o.TopP < 1f)
        {
            double cum = 0;
            for (int i = 0; i < count; i++)
            {
                cum += Math.Exp(-_keys[i] - max) / sum;
                if (cum >= _o.TopP)
                {
                    count = i + 1;
                    break;
                }
            }
        }
        if (_o.MinP > 0f)
        {
            // p_i >= min_p * p_max  ⇔  logit_i >= max + ln(min_p)
            float threshold = max + MathF.Log(_o.MinP);
            int keep = 1;
            while (keep < count && -_keys[keep] >= threshold) keep++;
            count = keep;
        }

        float invT = 1f / _o.Temperature;
        double total = 0;
        for (int i = 0; i < count; i++) total += Math.Exp((-_keys[i] - max) * invT);
        double r = NextDouble() * total;
        double acc = 0;
        for (int i = 0; i < count; i++)
        {
            acc += Math.Exp((-_keys[i] - max) * invT);
            if (r < acc) return _ids[i];
        }
        return _ids[count - 1];
    }

    private void ApplyPenalties(Span<float> l, ReadOnlySpan<int> history)
    {
        bool any = _o.RepeatPenalty != 1f || _o.PresencePenalty != 0f || _o.FrequencyPenalty != 0f;
        if (!any || _o.PenaltyLastN == 0 || history.IsEmpty) return;
        int window = _o.PenaltyLastN < 0 ? history.Length : Math.Min(_o.PenaltyLastN, history.Length);
        _counts.Clear();
        foreach (int t in history[^window..])
            if ((uint)t < (uint)l.Length) _counts[t] = _counts.GetValueOrDefault(t) + 1;
        foreach (var (t, c) in _counts)
        {
            float v = l[t];
            v = v <= 0 ? v * _o.RepeatPenalty : v / _o.RepeatPenalty;
            v -= c * _o.FrequencyPenalty + _o.PresencePenalty;
            l[t] = v;
        }
    }

    /// <summary>Moves the k smallest keys (largest logits) to the front (quickselect).</summary>
    private void SelectTop(int k, int n)
    {
        int lo = 0, hi = n - 1;
        while (lo < hi)
        {
            float pivot = _keys[(lo + hi) >>> 1];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (_keys[i] < pivot) i++;
                while (_keys[j] > pivot) j--;
                if (i <= j)
                {
                    (_keys[i], _keys[j]) = (_keys[j], _keys[i]);
                    (_ids[i], _ids[j]) = (_ids[j], _ids[i]);
                    i++;
                    j--;
                }
            }
            if (k - 1 <= j) hi = j;
            else if (k - 1 >= i) lo = i;
            else break;
        }
    }

    /// <summary>
    /// Index of the largest value, the first on ties (−0 and +0 tie); a NaN never wins, except a NaN first value, which
    /// nothing beats (the rule of the plain loop <c>if (v[i] &gt; v[best]) best = i</c>, which this returns exactly).
    /// </summary>
    public static int ArgMax(ReadOnlySpan<float> v)
    {
        // vectorised: a greedy step scans the whole vocabulary (128k logits for Llama 3), and the scalar loop's compare
        // and branch per element took ~0.3% of a 1B decode step
        if (Avx.IsSupported && v.Length >= 16 && !float.IsNaN(v[0])) return ArgMaxAvx(v);
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /// <summary><see cref="ArgMax"/> for v[0] not NaN: the maximum of the non-NaN values, then the first index that equals it.</summary>
    private static int ArgMaxAvx(ReadOnlySpan<float> v)
    {
        ref float p = ref MemoryMarshal.GetReference(v);
        int n = v.Length, i = 0;
        var m = Vector256.Create(v[0]);
        // vmaxps returns its second operand when either is NaN: NaN values leave m as it was
        for (; i <= n - 8; i += 8) m = Avx.Max(Vector256.LoadUnsafe(ref p, (nuint)i), m);
        float max = v[0];
        for (int k = 0; k < 8; k++) if (m[k] > max) max = m[k];
        for (; i < n; i++) if (v[i] > max) max = v[i];
        var target = Vector256.Create(max);
        for (i = 0; i <= n - 8; i += 8)
        {
            uint hits = Vector256.Equals(Vector256.LoadUnsafe(ref p, (nuint)i), target).ExtractMostSignificantBits();
            if (hits != 0) return i + BitOperations.TrailingZeroCount(hits);
        }
        for (; i < n; i++) if (v[i] == max) return i;
        return 0; // not reached: max is one of the values
    }

    // xorshift64* — stable across .NET versions, unlike System.Random's algorithm choice
    private double NextDouble()
    {
        if (_state == 0) _state = 0x9E3779B97F4A7C15;
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        ulong r = _state * 0x2545F4914F6CDD1DUL;
        return (r >> 11) * (1.0 / (1UL << 53));
    }
}
