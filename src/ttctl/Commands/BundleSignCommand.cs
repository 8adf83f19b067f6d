using System.CommandLine;
using TtBundles;
using TtBundles.Signing;

namespace Ttctl.Commands;

/// <summary>`ttctl bundle sign FILE --key K`: verifies sizes and hashes, then replaces the signature in place (temp file + rename).</summary>
internal static class BundleSignCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "the .ttmodel to sign" };
        var key = new Option<string>("--key") { Description = "private key (PEM)", Required = true };
        var cmd = new Command("sign", "Sign (or re-sign) a bundle in place") { file, key };
        cmd.SetAction((pr, ct) => BundleCommand.RunAsync(async () =>
        {
            string path = pr.GetValue(file)!;
            if (!File.Exists(path)) throw new Client.CliException(ExitCodes.Usage, $"'{path}': no such file");
            using var k = BundleCommand.LoadKey(pr.GetValue(key)!);
            var v = await BundleCreator.ResignFileAsync(path, k, ct).ConfigureAwait(false);
            Console.Out.WriteLine($"signed {path} ({v.Manifest.Name} {v.Manifest.Version}) with key {BundleKeys.KeyId(k)}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
