// Compiled only once ttctl references src/Engine (ProjectReference ../Engine/Engine.csproj + DefineConstants TTCTL_ENGINE),
// so ttctl keeps building until then. Remove the #if when the reference is in.
#if TTCTL_ENGINE
using System.CommandLine;

namespace Ttctl.Commands;

/// <summary>`ttctl engine ...`: runs the built-in Llama engine in-process (no daemon).</summary>
internal static class EngineCommand
{
    public static Command Create() =>
        new("engine", "Run the built-in Llama engine in this process (no daemon)") { EngineRunCommand.Create() };
}
#endif
