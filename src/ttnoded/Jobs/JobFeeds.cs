using System.Collections.Concurrent;

namespace Ttnoded.Jobs;

/// <summary>Feeds of jobs that are queued or running (and briefly after, for followers racing the end).</summary>
public sealed class JobFeeds
{
    private readonly ConcurrentDictionary<long, JobFeed> _feeds = new();

    public JobFeed GetOrCreate(long id) => _feeds.GetOrAdd(id, static i => new JobFeed(i));

    public JobFeed? TryGet(long id) => _feeds.TryGetValue(id, out var f) ? f : null;

    /// <summary>Forgets a finished job's feed after a grace period; later followers read the store.</summary>
    public void Retire(long id, TimeSpan grace)
    {
        _ = Task.Delay(grace).ContinueWith(_ => _feeds.TryRemove(id, out JobFeed? _), TaskScheduler.Default);
    }
}
