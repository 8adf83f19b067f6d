using System.CommandLine;
using System.Globalization;
using TtProtocol.Jobs;

namespace Ttctl.Commands;

/// <summary>`ttctl alloc create|list|rm`: card allocations (create and rm need root or the admin group).</summary>
internal static class AllocCommand
{
    public static Command Create()
    {
        var alloc = new Command("alloc", "Card allocations for users and projects");
        alloc.Subcommands.Add(CreateVerb());
        alloc.Subcommands.Add(ListVerb());
        alloc.Subcommands.Add(RemoveVerb());
        return alloc;
    }

    private static Command CreateVerb()
    {
        var cards = new Option<string[]>("--card") { Description = "card by index, serial or identity (repeatable)", AllowMultipleArgumentsPerToken = true };
        var count = new Option<int?>("--count") { Description = "or: this many free cards" };
        var user = new Option<string?>("--user") { Description = "allocate to this user" };
        var project = new Option<string?>("--project") { Description = "or: to this project (group)" };
        var shared = new Option<bool>("--shared") { Description = "allow other shared allocations on the same cards" };
        var expires = new Option<string?>("--expires") { Description = "expiry: a duration (30m, 8h, 7d) or an ISO time" };
        var json = GlobalOptions.Json();
        var cmd = new Command("create", "Reserve cards for a user or project") { cards, count, user, project, shared, expires, json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var req = new AllocationRequest
            {
                Cards = pr.GetValue(cards) is { Length: > 0 } c ? c : null, Count = pr.GetValue(count), User = pr.GetValue(user),
                Project = pr.GetValue(project), Exclusive = !pr.GetValue(shared), ExpiresAt = ParseExpiry(pr.GetValue(expires)),
            };
            var a = await client.PostAsync("api/v1/allocations", req, JobsJsonContext.Default.AllocationRequest, JobsJsonContext.Default.AllocationInfo, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) Output.Json(a, JobsJsonContext.Default.AllocationInfo);
            else Console.Out.WriteLine(a.Id);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command ListVerb()
    {
        var json = GlobalOptions.Json();
        var cmd = new Command("list", "List allocations you may use (admins: all)") { json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var list = await client.GetAsync("api/v1/allocations", JobsJsonContext.Default.AllocationList, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) { Output.Json(list, JobsJsonContext.Default.AllocationList); return ExitCodes.Ok; }
            Output.Table(["ID", "FOR", "MODE", "CARDS", "EXPIRES", "BY"], list.Allocations.Select(a => (IReadOnlyList<string>)
            [
                a.Id, a.User is not null ? "user " + a.User : "project " + a.Project, a.Exclusive ? "exclusive" : "shared",
                string.Join(',', a.Cards), a.ExpiresAt?.ToString("u", CultureInfo.InvariantCulture) ?? "never", a.CreatedBy,
            ]));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command RemoveVerb()
    {
        var id = new Argument<string>("id") { Description = "allocation id" };
        var cmd = new Command("rm", "Remove an allocation") { id };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            using var req = new HttpRequestMessage(HttpMethod.Delete, $"api/v1/allocations/{Uri.EscapeDataString(pr.GetValue(id)!)}");
            using var _ = await client.SendRawAsync(req, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            Console.Out.WriteLine($"removed {pr.GetValue(id)}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    internal static DateTimeOffset? ParseExpiry(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && text.Contains('-')) return at;
        char unit = text[^1];
        if (double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double n) && n > 0)
        {
            TimeSpan? d = unit switch { 's' => TimeSpan.FromSeconds(n), 'm' => TimeSpan.FromMinutes(n), 'h' => TimeSpan.FromHours(n), 'd' => TimeSpan.FromDays(n), _ => null };
            if (d is not null) return DateTimeOffset.UtcNow + d.Value;
        }
        throw new Client.CliException(ExitCodes.Usage, $"--expires: expected a duration like 30m, 8h, 7d or an ISO time, got '{text}'");
    }
}
