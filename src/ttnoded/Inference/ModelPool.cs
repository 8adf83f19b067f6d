using Microsoft.Extensions.Logging;
using TtEngine.Model;
using Ttnoded.Config;

namespace Ttnoded.Inference;

/// <summary>
/// Loaded models: a model is loaded (memory-mapped) on first use and kept while in use or within engine.keepAliveSeconds
/// of its last use; then unloaded. Explicit Load/Unload serve `ttctl model load|unload`.
/// </summary>
public sealed class ModelPool : IDisposable
{
    private sealed class Entry(string name, string path)
    {
        public string Name { get; } = name;
        public string Path { get; } = path;
        public LlamaModel? Model;
        /// <summary>The model's continuous-batching engine thread, alive while the model is loaded.</summary>
        public BatchingModelRunner? Runner;
        public int Users;
        public DateTimeOffset LastUsed = DateTimeOffset.UtcNow;
        public bool Pinned;
        public readonly PrefixCacheStats Prefix = new();
        public readonly Lock LoadGate = new();

        public void UnloadNow()
        {
            Runner?.Dispose();
            Runner = null;
            Model?.Dispose();
            Model = null;
        }
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly IModelCatalog _catalog;
    private readonly DaemonConfig _config;
    private readonly ILogger _log;
    private readonly Timer _reaper;

    public ModelPool(IModelCatalog catalog, DaemonConfig config, ILogger<ModelPool> log)
    {
        _catalog = catalog;
        _config = config;
        _log = log;
        _reaper = new Timer(_ => Reap(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
    }

    /// <summary>A model in use (it stays loaded until every lease is disposed).</summary>
    public sealed class Lease(ModelPool pool, string key, LlamaModel model, BatchingModelRunner runner) : IDisposable
    {
        private int _disposed;
        public LlamaModel Model { get; } = model;
        public BatchingModelRunner Runner { get; } = runner;
        public void Dispose() { if (Interlocked.Exchange(ref _disposed, 1) == 0) pool.Release(key); }
    }

    /// <summary>For metrics: every model the pool has seen, its runner while loaded, and its prefix-cache counters.</summary>
    public IReadOnlyList<(string Name, BatchingModelRunner? Runner, PrefixCacheStats Prefix)> Engines()
    {
        lock (_gate) return _entries.Values.Select(e => (e.Name, e.Runner, e.Prefix)).ToList();
    }

    /// <summary>Names of loaded models.</summary>
    public IReadOnlyList<string> Loaded() { lock (_gate) return _entries.Values.Where(e => e.Model is not null).Select(e => e.Name).ToList(); }

    /// <summary>Takes a lease on the model, loading it if needed. <paramref name="onLoading"/> fires when a load starts.</summary>
    public async Task<Lease> AcquireAsync(string name, Action? onLoading, CancellationToken ct)
    {
        var loc = _catalog.Find(name) ?? throw new InvalidOperationException($"model '{name}' is not registered (removed since the job was queued?)");
        Entry e;
        lock (_gate)
        {
            if (!_entries.TryGetValue(loc.Name, out e!) || e.Path != loc.GgufPath)
            {
                e = new Entry(loc.Name, loc.GgufPath);
                _entries[loc.Name] = e;
            }
            e.Users++;
        }
        try
        {
            ct.ThrowIfCancellationRequested();
            // Loading maps the file and builds the tokenizer: keep it off the request threads.
            var (model, runner) = await Task.Run(() => EnsureLoaded(e, onLoading), ct).ConfigureAwait(false);
            return new Lease(this, e.Name, model, runner);
        }
        catch
        {
            lock (_gate) e.Users--;
            throw;
        }
    }

    /// <summary>Loads a model now and keeps it loaded until <see cref="Unload"/>.</summary>
    public void Load(string name)
    {
        var loc = _catalog.Find(name) ?? throw new InvalidOperationException($"model '{name}' is not registered");
        Entry e;
        lock (_gate)
        {
            if (!_entries.TryGetValue(loc.Name, out e!)) _entries[loc.Name] = e = new Entry(loc.Name, loc.GgufPath);
            e.Pinned = true;
        }
        _ = EnsureLoaded(e, null);
    }

    /// <summary>Unloads a model that no job is using. False when it is in use (it unloads after) or not loaded.</summary>
    public bool Unload(string name)
    {
        name = _catalog.Find(name)?.Name ?? name;
        lock (_gate)
        {
            if (!_entries.TryGetValue(name, out var e) || e.Model is null) return false;
            e.Pinned = false;
            if (e.Users > 0) { e.LastUsed = DateTimeOffset.MinValue; return false; }
            e.UnloadNow();
            _log.LogInformation("model {Model} unloaded", name);
            return true;
        }
    }

    /// <summary>True while a request holds the model (<paramref name="key"/> is "name:version").</summary>
    public bool IsBusy(string key)
    {
        lock (_gate) return _entries.TryGetValue(key, out var e) && e.Users > 0;
    }

    /// <summary>
    /// Drops a removed model: unloads it (even if pinned by `ttctl model load`) unless a request still holds it, in
    /// which case it unloads when that request ends, as an idle model would.
    /// </summary>
    public void Forget(string key)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var e)) return;
            e.Pinned = false;
            if (e.Users > 0) { e.LastUsed = DateTimeOffset.MinValue; return; }
            bool wasLoaded = e.Model is not null;
            e.UnloadNow(); // the entry stays: an unloaded entry costs nothing and a re-import of the same blob reuses it
            if (wasLoaded) _log.LogInformation("model {Model} unloaded: removed from the store", key);
        }
    }

    private (LlamaModel, BatchingModelRunner) EnsureLoaded(Entry e, Action? onLoading)
    {
        lock (e.LoadGate)
        {
            lock (_gate)
                if (e.Model is not null && e.Runner is not null) return (e.Model, e.Runner);
            onLoading?.Invoke();
            _log.LogInformation("loading model {Model} from {Path}", e.Name, e.Path);
            var model = LlamaModel.Load(e.Path, new EngineOptions { Threads = _config.Engine.Threads });
            var runner = new BatchingModelRunner(model, e.Name, (long)_config.Engine.PrefixCacheMiB << 20, e.Prefix);
            lock (_gate) { e.Model = model; e.Runner = runner; }
            return (model, runner);
        }
    }

    private void Release(string key)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var e)) return;
            e.Users--;
            e.LastUsed = DateTimeOffset.UtcNow;
        }
    }

    private void Reap()
    {
        var keep = TimeSpan.FromSeconds(_config.Engine.KeepAliveSeconds);
        lock (_gate)
        {
            foreach (var e in _entries.Values)
            {
                if (e.Model is null || e.Users > 0 || e.Pinned || DateTimeOffset.UtcNow - e.LastUsed < keep) continue;
                e.UnloadNow();
                _log.LogInformation("model {Model} unloaded after {Seconds}s idle", e.Name, _config.Engine.KeepAliveSeconds);
            }
        }
    }

    public void Dispose()
    {
        _reaper.Dispose();
        lock (_gate)
        {
            foreach (var e in _entries.Values) e.UnloadNow();
        }
    }
}
