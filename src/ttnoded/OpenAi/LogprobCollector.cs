using TtProtocol.Jobs;

namespace Ttnoded.OpenAi;

/// <summary>
/// Gathers a job's "logprob" events and hands them out in OpenAI's shapes: all at once for a whole answer, or what arrived
/// since the last chunk when streaming (the engine reports a token's logprob just before its text).
/// </summary>
public sealed class LogprobCollector
{
    private readonly List<TokenLogprob> _pending = [];
    private int _textOffset;

    public void Add(TokenLogprob lp) => _pending.Add(lp);

    public bool HasPending => _pending.Count > 0;

    /// <summary>Chat form: {"content": [{token, logprob, bytes, top_logprobs}]}.</summary>
    public ChatLogprobs TakeChat()
    {
        var content = _pending.Select(p => new ChatTokenLogprob(p.Token, p.Logprob, p.Bytes,
            [.. p.Top.Select(t => new ChatTopLogprob(t.Token, t.Logprob, t.Bytes))])).ToArray();
        _pending.Clear();
        return new ChatLogprobs(content);
    }

    /// <summary>Completions form: parallel arrays; top alternatives as {token: logprob} (the likelier wins when two decode alike).</summary>
    public CompletionLogprobs TakeCompletion()
    {
        var tokens = new string[_pending.Count];
        var lps = new float[_pending.Count];
        var tops = new Dictionary<string, float>[_pending.Count];
        var offsets = new int[_pending.Count];
        for (int i = 0; i < _pending.Count; i++)
        {
            var p = _pending[i];
            tokens[i] = p.Token;
            lps[i] = p.Logprob;
            offsets[i] = _textOffset;
            _textOffset += p.Token.Length;
            var top = new Dictionary<string, float>(StringComparer.Ordinal);
            foreach (var t in p.Top) top.TryAdd(t.Token, t.Logprob);
            tops[i] = top;
        }
        _pending.Clear();
        return new CompletionLogprobs(tokens, lps, tops, offsets);
    }
}
