using System.Diagnostics;
using System.Text;
using TtProtocol.Jobs;
using Ttnoded.Inference;

namespace Ttnoded.Jobs;

/// <summary>Collects a running job's output, publishes it to followers, and checkpoints it to the store about once a second.</summary>
public sealed class JobSink(JobRecord job, JobFeed feed, JobStore store) : IJobSink
{
    private readonly StringBuilder _output = new();
    private long _lastSave = Stopwatch.GetTimestamp();
    private int _index;

    public string Output => _output.ToString();

    public int TokensIn { get; private set; }

    public void OnPrompt(int tokens) => TokensIn = tokens;

    /// <summary>Prompt tokens served from the prefix cache.</summary>
    public int TokensReused { get; private set; }

    public void OnPrefixReused(int tokens) => TokensReused = tokens;

    public void OnLoading(string model) =>
        feed.Publish(new JobEvent { Type = "state", JobId = job.Id, State = JobStates.Running, Reason = $"loading model {model}" });

    public void OnLogprob(TokenLogprob logprob) =>
        feed.Publish(new JobEvent { Type = "logprob", JobId = job.Id, Index = _index, Logprob = logprob });

    public void OnText(string text, int tokenId)
    {
        _output.Append(text);
        feed.Publish(new JobEvent { Type = "token", JobId = job.Id, Index = _index++, Text = text });
        if (Stopwatch.GetElapsedTime(_lastSave) > TimeSpan.FromSeconds(1))
        {
            _lastSave = Stopwatch.GetTimestamp();
            store.SaveProgress(job.Id, _output.ToString(), TokensIn, _index);
        }
    }
}
