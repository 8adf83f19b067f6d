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
        public int Users;
        public DateTimeOffset LastUsed = DateTimeOffset.UtcNow;
        public bool Pinned;
        /// <summary>One generation at a time per model: the engine's worker pool is not re-entrant.</summary>
        public readonly SemaphoreSlim Turn = new(1, 1);
        public readonly Lock LoadGate = new();
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

    /// <summary>A model in use; dispose the lease to release it (and its turn).</summary>
    public sealed class Lease(ModelPool pool, string key, LlamaModel model) : IDisposable
    {
        private int _disposed;
        public LlamaModel Model { get; } = model;
        public void Dispose() { if (Interlocked.Exchange(ref _disposed, 1) == 0) pool.Release(key); }
    }

    /// <summary>Names of loaded models.</summary>
    public IReadOnlyList<string> Loaded() { lock (_gate) return _entries.Values.Where(e => e.Model is not null).Select(e => e.Name).ToList(); }

    /// <summary>Waits for the model's turn, loading it if needed. <paramref name="onLoading"/> fires when a load starts.</summary>
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
            await e.Turn.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var model = EnsureLoaded(e, onLoading);
                return new Lease(this, e.Name, model);
            }
            catch
            {
                e.Turn.Release();
                throw;
            }
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
        EnsureLoaded(e, null);
    }

    /// <summary>Unloads a model that no job is using. False when it is in use (it unloads after) or not loaded.</summary>
    public bool Unload(string name)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(name, out var e) || e.Model is null) return false;
            e.Pinned = false;
            if (e.Users > 0) { e.LastUsed = DateTimeOffset.MinValue; return false; }
            e.Model.Dispose();
            e.Model = null;
            _log.LogInformation("model {Model} unloaded", name);
            return true;
        }
    }

    private LlamaModel EnsureLoaded(Entry e, Action? onLoading)
    {
        lock (e.LoadGate)
        {
            if (e.Model is not null) return e.Model;
            onLoading?.Invoke();
            _log.LogInformation("loading model {Model} from {Path}", e.Name, e.Path);
            var model = LlamaModel.Load(e.Path, new EngineOptions { Threads = _config.Engine.Threads });
            lock (_gate) e.Model = model;
            return model;
        }
    }

    private void Release(string key)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var e)) return;
            e.Users--;
            e.LastUsed = DateTimeOffset.UtcNow;
            e.Turn.Release();
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
                e.Model.Dispose();
                e.Model = null;
                _log.LogInformation("model {Model} unloaded after {Seconds}s idle", e.Name, _config.Engine.KeepAliveSeconds);
            }
        }
    }

    public void Dispose()
    {
        _reaper.Dispose();
        lock (_gate)
        {
            foreach (var e in _entries.Values) { e.Model?.Dispose(); e.Model = null; }
        }
    }
}
