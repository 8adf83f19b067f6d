namespace TtEngine.Sampling;

/// <summary>
/// Log probabilities of the model's next-token distribution (log-softmax of the raw logits, before penalties, bias or
/// temperature: what the model said, as OpenAI's and vLLM's logprobs report). Allocation-free; only computed on request.
/// </summary>
public static class LogProbs
{
    /// <summary>
    /// Returns log p(<paramref name="token"/>) and fills <paramref name="topIds"/>/<paramref name="topLogprobs"/> (same
    /// length, ≤ vocab) with the most likely tokens, most likely first.
    /// </summary>
    public static float Of(ReadOnlySpan<float> logits, int token, Span<int> topIds, Span<float> topLogprobs)
    {
        if ((uint)token >= (uint)logits.Length) throw new ArgumentOutOfRangeException(nameof(token));
        if (topIds.Length != topLogprobs.Length || topIds.Length > logits.Length) throw new ArgumentException("top spans must have the same length, at most the vocabulary");
        float max = float.NegativeInfinity;
        foreach (float l in logits) if (l > max) max = l;
        double sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        float logZ = max + (float)Math.Log(sum);

        int k = topIds.Length, filled = 0;
        for (int i = 0; i < logits.Length && k > 0; i++)
        {
            float l = logits[i];
            if (filled == k && l <= topLogprobs[k - 1]) continue;
            int at = filled < k ? filled++ : k - 1;
            while (at > 0 && topLogprobs[at - 1] < l) { topLogprobs[at] = topLogprobs[at - 1]; topIds[at] = topIds[at - 1]; at--; }
            topLogprobs[at] = l;
            topIds[at] = i;
        }
        for (int i = 0; i < k; i++) topLogprobs[i] -= logZ;
        return logits[token] - logZ;
    }
}
