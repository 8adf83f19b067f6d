namespace Ttctl.Client;

/// <summary>A failure to report as one line on stderr with a specific exit code.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
