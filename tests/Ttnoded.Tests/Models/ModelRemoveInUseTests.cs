using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TestSupport;
using TtBundles;
using TtProtocol.Models;
using TtProtocol.Jobs;

namespace Ttnoded.Tests.Models;

/// <summary>`ttctl model rm` against a real daemon while jobs (native and OpenAI) use the model, and after they are done.</summary>
public sealed class ModelRemoveInUseTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ttmodel-rm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<(int Code, string Out, string Err)> Ttctl(DaemonProcess d, params string[] args) =>
        Binaries.RunAsync(Binaries.StartInfo("ttctl", ["-s", d.SocketPath, .. args]), TimeSpan.FromSeconds(60));

    /// <summary>
    /// stories260K with llama.context_length raised from 2048 to 1M (the 4 bytes after the key): an ignore-EOS job then
    /// keeps decoding, ever slower, until it is cancelled, instead of ending at the context limit within seconds.
    /// </summary>
    private string LongContextGguf()
    {
        byte[] gguf = File.ReadAllBytes(TestBundle.Gguf);
        byte[] key = Encoding.ASCII.GetBytes("llama.context_length");
        int at = gguf.AsSpan().IndexOf(key) + key.Length;
        Assert.Equal(4, BitConverter.ToInt32(gguf, at)); // GGUF type uint32
        Assert.Equal(2048, BitConverter.ToInt32(gguf, at + 4));
        BitConverter.TryWriteBytes(gguf.AsSpan(at + 4), 1 << 20);
        string path = Path.Combine(_dir, "long.gguf");
        File.WriteAllBytes(path, gguf);
        return path;
    }

    private static async Task<JobInfo> JobAsync(HttpClient http, long id) =>
        (await http.GetFromJsonAsync($"api/v1/jobs/{id}", JobsJsonContext.Default.JobInfo))!;

    private static async Task<JobInfo> WaitForAsync(HttpClient http, long id, Func<JobInfo, bool> done)
    {
        for (int i = 0; i < 1500; i++)
        {
            var j = await JobAsync(http, id);
            if (done(j)) return j;
            await Task.Delay(20);
        }
        throw new TimeoutException($"job {id} stayed {(await JobAsync(http, id)).State}");
    }

    private static async Task<IReadOnlyList<ModelSummary>> ModelsAsync(DaemonProcess d)
    {
        var list = await Ttctl(d, "model", "list", "--json");
        Assert.True(list.Code == 0, list.Err);
        return JsonSerializer.Deserialize(list.Out, ModelApiJsonContext.Default.ModelListResponse)!.Models;
    }

    [Fact]
    public async Task Rm_IsRefusedWhileJobsUseTheModel_AndRemovesItOnceTheyAreDone()
    {
        string bundle = Path.Combine(_dir, "long.ttmodel");
        await BundleCreator.CreateAsync(new BundleCreateOptions { GgufPath = LongContextGguf(), Name = "long", Version = "1", OutputPath = bundle });
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        await using var d = new DaemonProcess();
        d.WriteConfig($$"""{ "trust": { "policy": "off", "keysDir": "{{Path.Combine(_dir, "keys")}}" }, "jobs": { "maxRunning": 1 } }""");
        d.StartReady();
        var import = await Ttctl(d, "model", "import", bundle);
        Assert.True(import.Code == 0, import.Err);
        using var http = d.Http();

        // One job runs (bare name), a native job naming the version waits behind it, and so does an OpenAI request.
        var running = (await (await http.PostAsJsonAsync("api/v1/jobs", new JobSubmitRequest
        {
            Model = "long", Prompt = "Once", MaxTokens = 50_000, Sampling = new SamplingOptions { Temperature = 0, IgnoreEos = true },
        }, JobsJsonContext.Default.JobSubmitRequest)).Content.ReadFromJsonAsync(JobsJsonContext.Default.JobInfo))!;
        await WaitForAsync(http, running.Id, j => j.State == JobStates.Running);
        var queued = (await (await http.PostAsJsonAsync("api/v1/jobs",
            new JobSubmitRequest { Model = "long:1", Prompt = "Once", MaxTokens = 3 }, JobsJsonContext.Default.JobSubmitRequest))
            .Content.ReadFromJsonAsync(JobsJsonContext.Default.JobInfo))!;
        using var openAiHttp = d.Http(TimeSpan.FromMinutes(2));
        var openAi = openAiHttp.PostAsync("v1/completions",
            new StringContent("""{"model":"long","prompt":"Once","max_tokens":3}""", Encoding.UTF8, "application/json"));
        JobInfo? completion = null;
        for (int i = 0; i < 500 && completion is null; i++)
        {
            var all = (await http.GetFromJsonAsync("api/v1/jobs", JobsJsonContext.Default.JobList))!.Jobs;
            completion = all.FirstOrDefault(j => j.Kind == "completion");
            if (completion is null) await Task.Delay(20);
        }
        Assert.NotNull(completion);
        Assert.Equal(JobStates.Running, (await JobAsync(http, running.Id)).State); // the refusals below must happen while it runs

        var rm = await Ttctl(d, "model", "rm", "long:1");
        Assert.Equal(65, rm.Code);
        Assert.Equal(
            $"ttctl: model long:1 is in use by job {running.Id} (running), job {queued.Id} (queued), job {completion.Id} (queued); " +
            "wait for them to finish or cancel (ttctl cancel ID), then remove it\n", rm.Err);
        var delete = await http.DeleteAsync("api/v1/models/long");
        Assert.Equal(HttpStatusCode.Conflict, delete.StatusCode);

        // Still registered, intact, and usable: once the long job is cancelled, both waiting jobs run on it.
        var still = Assert.Single(await ModelsAsync(d));
        Assert.Equal(("long", "1"), (still.Name, still.Version));
        Assert.Equal(0, (await Ttctl(d, "model", "verify", "long:1")).Code);
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync($"api/v1/jobs/{running.Id}")).StatusCode);
        Assert.Equal(JobStates.Succeeded, (await WaitForAsync(http, queued.Id, j => JobStates.IsFinished(j.State))).State);
        using (var resp = await openAi) Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal(JobStates.Succeeded, (await WaitForAsync(http, completion.Id, j => JobStates.IsFinished(j.State))).State);

        rm = await Ttctl(d, "model", "rm", "long:1");
        Assert.True(rm.Code == 0, rm.Err);
        Assert.Equal("removed long:1 (1 blob(s) deleted)\n", rm.Out);
        Assert.Empty(await ModelsAsync(d));
        Assert.Empty(Directory.GetFiles(Path.Combine(d.StateDir, "models", "blobs")));
        var audit = (await http.GetFromJsonAsync("api/v1/audit?limit=100", JobsJsonContext.Default.AuditList))!.Entries;
        Assert.Equal(2, audit.Count(e => e.Action == "model.remove" && e.Result == "rejected"));
        Assert.Contains(audit, e => e.Action == "model.remove" && e.Result == "ok");
    }
}
