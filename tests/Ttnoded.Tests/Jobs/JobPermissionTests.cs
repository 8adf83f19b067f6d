using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;
using TtProtocol.Jobs;

namespace Ttnoded.Tests.Jobs;

/// <summary>Who may see, follow and cancel what: root (admin) and 'nobody' against a real daemon, identities from SO_PEERCRED.</summary>
public sealed class JobPermissionTests
{
    private static Task<(int Code, string Out, string Err)> AsNobody(DaemonProcess d, params string[] args) =>
        Binaries.RunAsync(Binaries.AsUser(Binaries.StartInfo("ttctl", ["--socket", d.SocketPath, .. args]), 65534, 65534));

    [Fact]
    public async Task Users_see_and_cancel_only_their_own_jobs_and_admins_see_all()
    {
        if (!Binaries.IsRoot) return; // switching users needs root; CI runs as root
        await using var d = new DaemonProcess();
        d.WriteConfig(TestBundle.Config("\"socketGroup\": \"nogroup\", \"jobs\": { \"maxRunning\": 1 }"));
        d.StartReady();
        await TestBundle.ImportAsync(d);
        using var http = d.Http();
        var rootJob = (await (await http.PostAsJsonAsync("api/v1/jobs",
            new JobSubmitRequest { Model = TestBundle.ModelName, Prompt = "Once", MaxTokens = 100_000 }, JobsJsonContext.Default.JobSubmitRequest))
            .Content.ReadFromJsonAsync(JobsJsonContext.Default.JobInfo))!;

        var (code, stdout, err) = await AsNobody(d, "submit", "--model", TestBundle.ModelName, "--prompt", "Once", "--max-tokens", "3");
        Assert.True(code == 0, err);
        long nobodyJob = long.Parse(stdout.Trim());

        (code, _, err) = await AsNobody(d, "status", rootJob.Id.ToString());
        Assert.Equal(65, code);
        Assert.Contains($"no job {rootJob.Id}", err);
        (code, _, _) = await AsNobody(d, "cancel", rootJob.Id.ToString());
        Assert.Equal(65, code);
        (code, stdout, _) = await AsNobody(d, "status", "--json");
        Assert.Equal(0, code);
        var visible = JsonSerializer.Deserialize(stdout, JobsJsonContext.Default.JobList)!.Jobs.Select(j => j.Id).ToList();
        Assert.Equal([nobodyJob], visible);
        (code, _, err) = await AsNobody(d, "alloc", "create", "--count", "1", "--user", "nobody");
        Assert.Equal(77, code);
        Assert.Contains("admin", err);

        var mine = (await http.GetFromJsonAsync("api/v1/jobs", JobsJsonContext.Default.JobList))!.Jobs.Select(j => j.Id).ToList();
        Assert.Contains(nobodyJob, mine);
        Assert.Contains(rootJob.Id, mine);
        var byNobody = (await http.GetFromJsonAsync($"api/v1/jobs/{nobodyJob}", JobsJsonContext.Default.JobInfo))!;
        Assert.Equal(65534u, byNobody.Uid);
        Assert.Equal("nogroup", byNobody.Project);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.DeleteAsync($"api/v1/jobs/{rootJob.Id}")).StatusCode);

        var audit = (await http.GetFromJsonAsync("api/v1/audit?limit=1000", JobsJsonContext.Default.AuditList))!.Entries;
        Assert.Contains(audit, e => e.Action == "allocation.create" && e.Uid == 65534 && e.Result == "denied");
        Assert.Contains(audit, e => e.Action == "job.submit" && e.Uid == 65534 && e.Result == "ok");
    }

    [Fact]
    public async Task Submit_follow_streams_the_output_and_exits_0()
    {
        await using var d = new DaemonProcess();
        d.WriteConfig(TestBundle.Config());
        d.StartReady();
        await TestBundle.ImportAsync(d);
        var (code, stdout, err) = await Binaries.RunAsync("ttctl", "--socket", d.SocketPath, "submit", "--model", TestBundle.ModelName,
            "--prompt", "Once upon a time", "--max-tokens", "30", "--temp", "0", "--follow");
        Assert.True(code == 0, err);
        Assert.Contains("there was a little girl", stdout);
        Assert.Matches(@"job \d+ succeeded \(length\)", err);
    }
}
