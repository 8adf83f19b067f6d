using System.CommandLine;
using TtBundles;
using TtBundles.Signing;

namespace Ttctl.Commands;

/// <summary>`ttctl bundle verify FILE [--keys DIR] [--policy strict|warn|off]`: one read of the file; exit 0 ok, 1 rejected.</summary>
internal static class BundleVerifyCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "the .ttmodel to verify" };
        var keys = new Option<string>("--keys") { Description = "directory of trusted *.pub keys", DefaultValueFactory = _ => BundleCommand.DefaultKeysDir };
        var policy = new Option<string>("--policy") { Description = "strict|warn|off", DefaultValueFactory = _ => "strict" };
        policy.AcceptOnlyFromAmong("strict", "warn", "off");
        var cmd = new Command("verify", "Verify structure, sizes, hashes and signature of a bundle") { file, keys, policy };
        cmd.SetAction((pr, ct) => BundleCommand.RunAsync(async () =>
        {
            string path = pr.GetValue(file)!;
            if (!File.Exists(path)) throw new Client.CliException(ExitCodes.Usage, $"'{path}': no such file");
            var trust = TrustPolicy.Load(BundleCommand.ParseMode(pr.GetValue(policy)), pr.GetValue(keys));
            var v = await BundleReader.VerifyFileAsync(path, trust, ct).ConfigureAwait(false);
            foreach (var w in v.Warnings) BundleCommand.Warn(w);
            var m = v.Manifest;
            string sig = v.Signature switch
            {
                SignatureState.Trusted => $"signed by trusted key {v.SignerKeyId} ({v.SignerKeySource})",
                SignatureState.Untrusted => $"signed by UNTRUSTED key {v.SignerKeyId}",
                SignatureState.Unsigned => "UNSIGNED",
                _ => "signature not checked (policy off)",
            };
            Console.Out.WriteLine($"OK {path}: {m.Name} {m.Version}, {m.Files.Count} file(s), {BundleCommand.Bytes(m.PayloadBytes)}, sizes and sha256 match, {sig}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
