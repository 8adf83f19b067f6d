using System.CommandLine;
using TtProtocol;

namespace Ttctl.Commands;

/// <summary>`ttctl version`: this ttctl's version and, when reachable, the daemon's.</summary>
internal static class VersionCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var cmd = new Command("version", "Show ttctl's and ttnoded's versions") { json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var v = await client.GetAsync("api/v1/version", ApiJsonContext.Default.VersionResponse, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) Output.Json(v, ApiJsonContext.Default.VersionResponse);
            else Output.Fields([("ttctl", CliInfo.Version), ("ttnoded", v.Version), ("api", v.Api), ("native aot", v.NativeAot ? "yes" : "no")]);
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
