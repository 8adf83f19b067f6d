using System.CommandLine;
using TtBundles.Signing;

namespace Ttctl.Commands;

/// <summary>`ttctl bundle keygen -o NAME`: writes NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub.</summary>
internal static class BundleKeygenCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--output", "-o") { Description = "base path: writes NAME.key (private, 0600) and NAME.pub", Required = true };
        var cmd = new Command("keygen", "Create an ECDSA P-256 signing key pair") { output };
        cmd.SetAction((pr, ct) => BundleCommand.RunAsync(() =>
        {
            string name = pr.GetValue(output)!;
            if (File.Exists(name + ".key") || File.Exists(name + ".pub"))
                throw new Client.CliException(ExitCodes.Usage, $"'{name}.key' or '{name}.pub' already exists; refusing to overwrite a key");
            string id = BundleKeys.WriteKeyPair(name);
            Console.Out.WriteLine($"wrote {name}.key (private, mode 0600) and {name}.pub; key id {id}");
            Console.Out.WriteLine($"trust it on a node: copy {name}.pub to {BundleCommand.DefaultKeysDir}/");
            return Task.FromResult(ExitCodes.Ok);
        }, ExitCodes.Usage));
        return cmd;
    }
}
