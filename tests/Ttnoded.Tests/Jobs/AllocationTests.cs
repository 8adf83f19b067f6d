using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;
using TtProtocol.Hardware;
using TtProtocol.Jobs;
using Ttnoded.Tests.Hardware;

namespace Ttnoded.Tests.Jobs;

/// <summary>Allocations on a 4×n300 LoudBox fixture: reserve, conflict, lock cards for a job's duration, survive restarts.</summary>
public sealed class AllocationTests
{
    [Fact]
    public async Task Allocations_reserve_cards_lock_them_for_their_jobs_and_survive_a_restart()
    {
        using var tree = new FixtureTree("loudbox");
        using var stopBump = new CancellationTokenSource();
        // A live card's firmware heartbeat keeps changing; a frozen fixture would read as "heartbeat stopped".
        var bumper = Task.Run(async () =>
        {
            while (!stopBump.IsCancellationRequested)
            {
                try { tree.BumpHeartbeats(); } catch (IOException) { }
                try { await Task.Delay(200, stopBump.Token); } catch (OperationCanceledException) { }
            }
        });
        await using var d = new DaemonProcess(sysroot: tree.Root);
        d.WriteConfig(TestBundle.Config());
        d.StartReady();
        await TestBundle.ImportAsync(d);
        Task<(int Code, string Out, string Err)> Ttctl(params string[] args) =>
            Binaries.RunAsync(Binaries.StartInfo("ttctl", ["--socket", d.SocketPath, .. args]));

        var (code, stdout, err) = await Ttctl("alloc", "create", "--count", "2", "--user", "root", "--json");
        Assert.True(code == 0, err);
        var alloc = JsonSerializer.Deserialize(stdout, JobsJsonContext.Default.AllocationInfo)!;
        Assert.Equal(2, alloc.Cards.Length);
        Assert.True(alloc.Exclusive);

        (code, _, err) = await Ttctl("alloc", "create", "--card", alloc.Cards[0], "--project", "root");
        Assert.Equal(65, code);
        Assert.Contains("already allocated", err);
        (code, _, err) = await Ttctl("alloc", "create", "--count", "3", "--user", "root");
        Assert.Equal(65, code);
        Assert.Contains("only 2 free cards", err);

        using var http = d.Http();
        var resp = await http.PostAsJsonAsync("api/v1/jobs", new JobSubmitRequest
        {
            Model = TestBundle.ModelName, Prompt = "Once", MaxTokens = 100_000, Allocation = alloc.Id,
            Sampling = new SamplingOptions { IgnoreEos = true },
        }, JobsJsonContext.Default.JobSubmitRequest);
        var job = (await resp.Content.ReadFromJsonAsync(JobsJsonContext.Default.JobInfo))!;
        Assert.Equal(alloc.Id, job.Allocation);
        CardListResponse cards = null!;
        for (int i = 0; i < 300; i++)
        {
            cards = (await http.GetFromJsonAsync("api/v1/cards", HardwareJsonContext.Default.CardListResponse))!;
            if (cards.Cards.Count(c => c.LockedBy == $"job/{job.Id}") == 2) break;
            await Task.Delay(20);
        }
        Assert.Equal(alloc.Cards.Order(), cards.Cards.Where(c => c.LockedBy == $"job/{job.Id}").Select(c => c.Identity).Order());
        await http.DeleteAsync($"api/v1/jobs/{job.Id}");
        for (int i = 0; i < 300 && !JobStates.IsFinished((await http.GetFromJsonAsync($"api/v1/jobs/{job.Id}", JobsJsonContext.Default.JobInfo))!.State); i++)
            await Task.Delay(20);
        for (int i = 0; i < 100; i++) // the card view is at most 500 ms old
        {
            cards = (await http.GetFromJsonAsync("api/v1/cards", HardwareJsonContext.Default.CardListResponse))!;
            if (cards.Cards.All(c => c.LockedBy is null)) break;
            await Task.Delay(50);
        }
        Assert.DoesNotContain(cards.Cards, c => c.LockedBy is not null);

        var bad = await http.PostAsJsonAsync("api/v1/jobs", new JobSubmitRequest { Model = TestBundle.ModelName, Prompt = "x", Allocation = "alloc-nope" },
            JobsJsonContext.Default.JobSubmitRequest);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);

        d.Signal(DaemonProcess.SIGTERM);
        Assert.Equal(0, await d.WaitForExitAsync());
        d.StartReady();
        (code, stdout, _) = await Ttctl("alloc", "list", "--json");
        Assert.Equal(0, code);
        Assert.Equal([alloc.Id], JsonSerializer.Deserialize(stdout, JobsJsonContext.Default.AllocationList)!.Allocations.Select(a => a.Id));
        (code, _, err) = await Ttctl("alloc", "rm", alloc.Id);
        Assert.True(code == 0, err);
        (code, stdout, _) = await Ttctl("alloc", "list", "--json");
        Assert.Empty(JsonSerializer.Deserialize(stdout, JobsJsonContext.Default.AllocationList)!.Allocations);
        stopBump.Cancel();
        await bumper;
    }
}
