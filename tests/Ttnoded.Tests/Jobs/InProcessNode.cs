using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;
using TtProtocol.Jobs;
using Ttnoded.Config;
using Ttnoded.Inference;

namespace Ttnoded.Tests.Jobs;

/// <summary>
/// A whole node system in this process on a real Unix socket and a real SQLite file, with the real engine. Only the model
/// store is replaced by a fixed catalog naming ../shared's stories260K.gguf (the store has its own tests).
/// </summary>
internal sealed class InProcessNode : IAsyncDisposable
{
    public const string Model = "stories260k";
    public static string GgufPath => Path.Combine(RepoPaths.SharedModels, "stories260K", "stories260K.gguf");

    private readonly CancellationTokenSource _stop = new();
    private readonly Task<int> _run;
    public string Dir { get; }
    public NodePaths Paths { get; }
    public NodeSystem System { get; }
    public HttpClient Http { get; }

    private sealed class FixedCatalog : IModelCatalog
    {
        public ModelLocation? Find(string name) => name is Model or Model + ":1" ? new ModelLocation(Model, GgufPath, DateTimeOffset.UnixEpoch) : null;
        public IReadOnlyList<string> Names() => [Model];
    }

    public InProcessNode(Action<DaemonConfig>? configure = null)
    {
        Dir = Directory.CreateTempSubdirectory("ttnoded-jobs-").FullName;
        Paths = new NodePaths(Path.Combine(Dir, "none.json"), Path.Combine(Dir, "s.sock"), Path.Combine(Dir, "state"), Path.Combine(Dir, "log"), Path.Combine(Dir, "sysroot"));
        Directory.CreateDirectory(Paths.Sysroot);
        var config = new DaemonConfig();
        config.Engine.Threads = 1;
        configure?.Invoke(config);
        System = new NodeSystem(Paths, config) { ModelCatalog = new FixedCatalog() };
        _run = System.RunAsync(_stop.Token);
        Http = UnixHttp.Client(Paths.SocketPath);
        for (int i = 0; i < 400 && !System.State.Ready; i++)
        {
            if (_run.IsCompleted) _run.GetAwaiter().GetResult();
            Thread.Sleep(25);
        }
        if (!System.State.Ready) throw new TimeoutException("node system did not become ready");
    }

    public async Task<JobInfo> SubmitAsync(JobSubmitRequest req)
    {
        var resp = await Http.PostAsJsonAsync("api/v1/jobs", req, JobsJsonContext.Default.JobSubmitRequest);
        string body = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, $"submit failed: {(int)resp.StatusCode} {body}");
        return JsonSerializer.Deserialize(body, JobsJsonContext.Default.JobInfo)!;
    }

    public async Task<JobInfo> GetAsync(long id) =>
        (await Http.GetFromJsonAsync($"api/v1/jobs/{id}", JobsJsonContext.Default.JobInfo))!;

    public async Task<JobInfo> WaitFinishedAsync(long id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (DateTime.UtcNow < deadline)
        {
            var j = await GetAsync(id);
            if (JobStates.IsFinished(j.State)) return j;
            await Task.Delay(20);
        }
        throw new TimeoutException($"job {id} did not finish");
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _run.WaitAsync(TimeSpan.FromSeconds(30)); } catch (OperationCanceledException) { }
        await System.DisposeAsync();
        Http.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
