using System.CommandLine;
using TtProtocol;

namespace Ttctl;

/// <summary>Options every verb shares.</summary>
public static class GlobalOptions
{
    public static readonly Option<string> Socket = new("--socket", "-s")
    {
        Description = "ttnoded's socket (env TTCTL_SOCKET)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TTCTL_SOCKET") is { Length: > 0 } env ? env : ApiInfo.DefaultSocketPath,
        Recursive = true,
    };

    /// <summary>A fresh --json option (each read verb adds its own instance).</summary>
    public static Option<bool> Json() => new("--json") { Description = "print JSON instead of a table" };
}
