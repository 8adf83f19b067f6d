using System.CommandLine;

namespace Ttctl.Commands;

/// <summary>`ttctl engine ...`: runs the built-in Llama engine in-process (no daemon).</summary>
internal static class EngineCommand
{
    public static Command Create() =>
        new("engine", "Run the built-in Llama engine in this process (no daemon)") { EngineRunCommand.Create(), EngineSynthCommand.Create(), EngineBenchCommand.Create() };
}
