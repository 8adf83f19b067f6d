using System.CommandLine;
using Ttctl.Client;

namespace Ttctl;

/// <summary>Runs a verb's body against the daemon and turns every failure into one stderr line and an exit code.</summary>
public static class CommandRunner
{
    public static async Task<int> WithDaemonAsync(ParseResult pr, Func<DaemonClient, Task<int>> body)
    {
        using var client = new DaemonClient(pr.GetValue(GlobalOptions.Socket)!);
        return await GuardAsync(() => body(client)).ConfigureAwait(false);
    }

    public static async Task<int> GuardAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"ttctl: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("ttctl: cancelled");
            return 130;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"ttctl: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}
