using System.CommandLine;
using System.Security.Cryptography;
using TtBundles;
using TtBundles.Signing;
using TtEngine.Gguf;
using Ttctl.Client;

namespace Ttctl.Commands;

/// <summary>
/// `ttctl bundle ...`: offline model bundles (.ttmodel, docs/bundle-format.md). Every verb works without a daemon.
/// Exit codes: 0 ok, 1 verification failed, 2 usage or bad input (missing file, bad key, bad GGUF, bad name).
/// </summary>
internal static class BundleCommand
{
    /// <summary>Default trust store, shared with the packaged daemon's config.</summary>
    public const string DefaultKeysDir = "/etc/ttnoded/trusted-keys";

    public static Command Create()
    {
        var bundle = new Command("bundle", "Offline model bundles (.ttmodel): create, sign, verify, inspect; no daemon needed");
        bundle.Subcommands.Add(BundleKeygenCommand.Create());
        bundle.Subcommands.Add(BundleCreateCommand.Create());
        bundle.Subcommands.Add(BundleSignCommand.Create());
        bundle.Subcommands.Add(BundleVerifyCommand.Create());
        bundle.Subcommands.Add(BundleInspectCommand.Create());
        return bundle;
    }

    /// <summary>
    /// Runs a bundle verb and maps failures to one stderr line: a rejected bundle is <paramref name="rejectExit"/>
    /// (1 for verify/sign/inspect; 2 for create, where it means a bad option), bad GGUF/key/file is 2.
    /// </summary>
    public static Task<int> RunAsync(Func<Task<int>> body, int rejectExit = ExitCodes.Failure) =>
        CommandRunner.GuardAsync(async () =>
        {
            try
            {
                return await body().ConfigureAwait(false);
            }
            catch (BundleException e)
            {
                throw new CliException(rejectExit, e.Message);
            }
            catch (GgufFormatException e)
            {
                throw new CliException(ExitCodes.Usage, e.Message);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.Usage, e.Message);
            }
        });

    public static ECDsa LoadKey(string path) => BundleKeys.LoadPrivate(path);

    public static TrustMode ParseMode(string? s) =>
        TrustPolicy.TryParseMode(s, out var m) ? m : throw new CliException(ExitCodes.Usage, $"--policy '{s}': expected strict, warn or off");

    public static void Warn(string line) => Console.Error.WriteLine($"ttctl: warning: {line}");

    public static string Bytes(long n) => n switch
    {
        >= 1L << 30 => $"{n / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{n / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{n / 1024.0:0.0} KiB",
        _ => $"{n} B",
    };
}
