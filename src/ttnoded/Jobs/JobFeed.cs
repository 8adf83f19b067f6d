using System.Runtime.CompilerServices;
using TtProtocol.Jobs;

namespace Ttnoded.Jobs;

/// <summary>
/// The live event stream of one job: every event since the job started is kept, so a follower that connects late
/// first gets what was already produced, then the rest as it comes.
/// </summary>
public sealed class JobFeed
{
    private readonly List<JobEvent> _events = [];
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _completed;

    public long JobId { get; }

    public JobFeed(long jobId) => JobId = jobId;

    public bool Completed { get { lock (_gate) return _completed; } }

    public void Publish(JobEvent e, bool final = false)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            if (_completed) return;
            _events.Add(e);
            _completed = final;
            signal = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        signal.TrySetResult();
    }

    public async IAsyncEnumerable<JobEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken ct)
    {
        int next = 0;
        while (true)
        {
            JobEvent? e = null;
            Task wait;
            lock (_gate)
            {
                if (next < _events.Count) e = _events[next++];
                else if (_completed) yield break;
                wait = _changed.Task;
            }
            if (e is not null) { yield return e; continue; }
            await wait.WaitAsync(ct).ConfigureAwait(false);
        }
    }
}
