using System.Globalization;
using TtProtocol.Jobs;

namespace Ttctl.Commands;

/// <summary>How jobs look in tables.</summary>
internal static class JobFormat
{
    public static string Age(DateTimeOffset since)
    {
        var d = DateTimeOffset.UtcNow - since;
        if (d.TotalSeconds < 0) d = TimeSpan.Zero;
        return d.TotalHours >= 1 ? $"{(int)d.TotalHours}h{d.Minutes:00}m" : d.TotalMinutes >= 1 ? $"{(int)d.TotalMinutes}m{d.Seconds:00}s" : $"{(int)d.TotalSeconds}s";
    }

    public static string Ms(double? ms) => ms is null ? "-" : ms.Value.ToString("0.0", CultureInfo.InvariantCulture) + " ms";

    public static IReadOnlyList<string> Row(JobInfo j) =>
    [
        j.Id.ToString(CultureInfo.InvariantCulture), j.State, j.QueuePosition?.ToString(CultureInfo.InvariantCulture) ?? "-",
        j.User, j.Project, j.Priority.ToString(CultureInfo.InvariantCulture), j.Model, Age(j.SubmittedAt),
        $"{j.TokensIn}/{j.TokensOut}", j.Reason ?? "",
    ];

    public static readonly string[] Headers = ["ID", "STATE", "POS", "USER", "PROJECT", "PRIO", "MODEL", "AGE", "TOK IN/OUT", "REASON"];

    public static long ParseId(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long id) && id > 0
            ? id
            : throw new Client.CliException(ExitCodes.Usage, $"job id must be a positive number, got '{text}'");
}
