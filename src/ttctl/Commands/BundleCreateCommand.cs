using System.CommandLine;
using TtBundles;
using TtBundles.Signing;
using Ttctl.Client;

namespace Ttctl.Commands;

/// <summary>`ttctl bundle create --gguf FILE --name N ... -o OUT.ttmodel`: manifest from the GGUF's metadata.</summary>
internal static class BundleCreateCommand
{
    public static Command Create()
    {
        var gguf = new Option<string>("--gguf") { Description = "the GGUF model file", Required = true };
        var name = new Option<string>("--name") { Description = "model name ([a-z0-9][a-z0-9._-]*)", Required = true };
        var version = new Option<string>("--version") { Description = "model version", DefaultValueFactory = _ => "1" };
        var license = new Option<string>("--license") { Description = "SPDX license id", DefaultValueFactory = _ => "NOASSERTION" };
        var licenseFile = new Option<string?>("--license-file") { Description = "license text to bundle as LICENSE" };
        var readme = new Option<string?>("--readme") { Description = "model card to bundle as README.md" };
        var minFw = new Option<string?>("--min-firmware") { Description = "minimum firmware bundle version" };
        var fwPolicy = new Option<string>("--firmware-policy") { Description = "strict|suggested", DefaultValueFactory = _ => "strict" };
        fwPolicy.AcceptOnlyFromAmong(RequirementPolicies.Strict, RequirementPolicies.Suggested);
        var minDrv = new Option<string?>("--min-driver") { Description = "minimum tt-kmd driver version" };
        var drvPolicy = new Option<string>("--driver-policy") { Description = "strict|suggested", DefaultValueFactory = _ => "suggested" };
        drvPolicy.AcceptOnlyFromAmong(RequirementPolicies.Strict, RequirementPolicies.Suggested);
        var devices = new Option<string[]>("--device") { Description = "a device kind the model fits (repeatable: cpu, n150, n300, p150...)" };
        var engine = new Option<string?>("--engine-version") { Description = $"minimum engine version (default {BundleCreator.CurrentEngineVersion})" };
        var key = new Option<string?>("--key") { Description = "private key (PEM) to sign with; unsigned when absent" };
        var output = new Option<string>("--output", "-o") { Description = "the .ttmodel to write", Required = true };
        var cmd = new Command("create", "Create a bundle from a GGUF (metadata read from the file)")
        {
            gguf, name, version, license, licenseFile, readme, minFw, fwPolicy, minDrv, drvPolicy, devices, engine, key, output,
        };
        cmd.SetAction((pr, ct) => BundleCommand.RunAsync(async () =>
        {
            string ggufPath = pr.GetValue(gguf)!;
            if (!File.Exists(ggufPath)) throw new CliException(ExitCodes.Usage, $"--gguf '{ggufPath}': no such file");
            using var signingKey = pr.GetValue(key) is { } k ? BundleCommand.LoadKey(k) : null;
            var fw = pr.GetValue(minFw) is { } f ? new VersionRequirement { Min = f, Policy = pr.GetValue(fwPolicy)! } : null;
            var drv = pr.GetValue(minDrv) is { } d ? new VersionRequirement { Min = d, Policy = pr.GetValue(drvPolicy)! } : null;
            string outPath = pr.GetValue(output)!;
            var m = await BundleCreator.CreateAsync(new BundleCreateOptions
            {
                GgufPath = ggufPath, Name = pr.GetValue(name)!, OutputPath = outPath, Version = pr.GetValue(version)!,
                License = pr.GetValue(license)!, LicenseFile = pr.GetValue(licenseFile), ReadmeFile = pr.GetValue(readme),
                Firmware = fw, Driver = drv, Devices = pr.GetValue(devices) ?? [], EngineVersion = pr.GetValue(engine), Key = signingKey,
            }, ct).ConfigureAwait(false);
            Console.Out.WriteLine($"wrote {outPath}: {m.Name} {m.Version} ({m.Architecture}, {m.Quantization}, {m.ParameterCount:N0} params, " +
                $"{m.Files.Count} file(s), {BundleCommand.Bytes(m.PayloadBytes)}), " +
                (signingKey is null ? "unsigned" : $"signed by {BundleKeys.KeyId(signingKey)}"));
            return ExitCodes.Ok;
        }, ExitCodes.Usage));
        return cmd;
    }
}
