using System.CommandLine;
using TtBundles;

namespace Ttctl.Commands;

/// <summary>`ttctl bundle inspect FILE [--json]`: prints the manifest (reads only the first entry; verifies nothing else).</summary>
internal static class BundleInspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "the .ttmodel to inspect" };
        var json = GlobalOptions.Json();
        var cmd = new Command("inspect", "Show a bundle's manifest (no verification; use 'bundle verify')") { file, json };
        cmd.SetAction((pr, ct) => BundleCommand.RunAsync(async () =>
        {
            string path = pr.GetValue(file)!;
            if (!File.Exists(path)) throw new Client.CliException(ExitCodes.Usage, $"'{path}': no such file");
            await using var fs = BundleReader.OpenSequential(path);
            var (m, bytes) = await BundleReader.ReadManifestAsync(fs, ct).ConfigureAwait(false);
            if (pr.GetValue(json))
            {
                using var stdout = Console.OpenStandardOutput();
                stdout.Write(bytes); // the exact signed bytes
                return ExitCodes.Ok;
            }
            static string Req(VersionRequirement? r) => r is null ? "-" : $">= {r.Min} ({r.Policy})";
            Output.Fields([
                ("name", m.Name), ("version", m.Version), ("architecture", m.Architecture), ("quantization", m.Quantization),
                ("parameters", m.ParameterCount.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)),
                ("context length", m.ContextLength.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("chat template", m.ChatTemplate), ("engine", $">= {m.EngineVersion}"),
                ("firmware", Req(m.Hardware.Firmware)), ("driver", Req(m.Hardware.Driver)),
                ("devices", m.Hardware.Devices.Count == 0 ? "any" : string.Join(", ", m.Hardware.Devices)),
                ("license", m.License), ("created", m.Created),
            ]);
            Console.Out.WriteLine();
            Output.Table(["PATH", "KIND", "SIZE", "SHA256"], m.Files.Select(f => (IReadOnlyList<string>)[f.Path, f.Kind, BundleCommand.Bytes(f.Size), f.Sha256]));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
