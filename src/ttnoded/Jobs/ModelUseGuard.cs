using Ttnoded.Inference;
using Ttnoded.Models;

namespace Ttnoded.Jobs;

/// <summary>
/// Keeps `ttctl model rm` from pulling a model out from under its jobs. A model is in use while a queued or running job
/// (native or OpenAI, both are jobs) names it, or while the engine holds it for a request. The check and the
/// unregistering run under the queue lock that <see cref="JobService.Submit"/> takes to check the model and queue a job,
/// so no job can slip in between. A removed model is then unloaded from the engine pool.
/// </summary>
public sealed class ModelUseGuard(JobQueue queue, IModelCatalog catalog, ModelPool pool) : IModelUsers
{
    private const int NamedJobs = 10; // the message stays one readable line

    public void WhileUnused(string name, string version, Action unregister)
    {
        string key = $"{name}:{version}";
        lock (queue)
        {
            var users = JobsUsing(name, key);
            if (users.Count > 0)
            {
                string list = string.Join(", ", users.Take(NamedJobs).Select(u => $"job {u.Id} ({u.State})"));
                if (users.Count > NamedJobs) list += $" and {users.Count - NamedJobs} more";
                throw new ModelStoreException(409,
                    $"model {key} is in use by {list}; wait for {(users.Count == 1 ? "it" : "them")} to finish or cancel (ttctl cancel ID), then remove it");
            }
            if (pool.IsBusy(key))
                throw new ModelStoreException(409, $"model {key} is busy in the engine; try again when its requests finish");
            unregister();
        }
        pool.Forget(key);
    }

    /// <summary>
    /// Unfinished jobs that run, or will run, on <paramref name="key"/>. A job naming the bare model name runs on the
    /// version that is newest when it starts: a queued one blocks only that version, a running one (which may have
    /// started on an older version) blocks every version of the name.
    /// </summary>
    private List<(long Id, string State)> JobsUsing(string name, string key)
    {
        var users = new List<(long Id, string State)>();
        foreach (var r in queue.RunningSnapshot().OrderBy(r => r.Job.Id))
            if (r.Job.Model == key || r.Job.Model == name) users.Add((r.Job.Id, "running"));
        string? newest = null;
        foreach (var q in queue.QueuedSnapshot().OrderBy(q => q.Id))
        {
            if (q.Model == key) users.Add((q.Id, "queued"));
            else if (q.Model == name && (newest ??= catalog.Find(name)?.Name) == key) users.Add((q.Id, "queued"));
        }
        return users;
    }
}
