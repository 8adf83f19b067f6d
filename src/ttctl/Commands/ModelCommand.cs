using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using TtBundles;
using TtProtocol.Models;
using Ttctl.Client;

namespace Ttctl.Commands;

/// <summary>
/// `ttctl model import|list|show|rm|verify|export`: the daemon's model store. Import streams the bundle over the socket
/// (the daemon needs no access to the file); export streams it back.
/// </summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var model = new Command("model", "The node's model store: import signed bundles, list, show, remove, verify, export");
        model.Subcommands.Add(Import());
        model.Subcommands.Add(List());
        model.Subcommands.Add(Show());
        model.Subcommands.Add(Remove());
        model.Subcommands.Add(Verify());
        model.Subcommands.Add(Export());
        model.Subcommands.Add(Residency("load", "Load a model into the engine now and keep it loaded"));
        model.Subcommands.Add(Residency("unload", "Unload a model (at once, or when its running jobs finish)"));
        return model;
    }

    private static Command Import()
    {
        var file = new Argument<string>("file") { Description = "the .ttmodel bundle" };
        var json = GlobalOptions.Json();
        var cmd = new Command("import", "Import a bundle (verified by the daemon against its trust policy and this node's hardware)") { file, json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            string path = pr.GetValue(file)!;
            if (!File.Exists(path)) throw new CliException(ExitCodes.Usage, $"'{path}': no such file");
            await using var fs = BundleReader.OpenSequential(path);
            var progress = new ModelProgress("import", fs.Length);
            var content = new StreamContent(new ModelProgress.ReadStream(fs, progress), 1 << 20);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.ContentLength = fs.Length;
            var req = new HttpRequestMessage(HttpMethod.Post, "api/v1/models/import") { Content = content };
            var r = await client.SendAsync(req, ModelApiJsonContext.Default.ModelImportResponse, ct).ConfigureAwait(false);
            foreach (var w in r.Warnings) BundleCommand.Warn(w);
            if (pr.GetValue(json)) { Output.Json(r, ModelApiJsonContext.Default.ModelImportResponse); return ExitCodes.Ok; }
            double rate = r.BytesRead / Math.Max(r.Seconds, 1e-3);
            Console.Out.WriteLine($"imported {r.Model.Name}:{r.Model.Version} ({Sig(r.Model)}), {BundleCommand.Bytes(r.BytesRead)} in {r.Seconds:0.0}s ({BundleCommand.Bytes((long)rate)}/s)");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command List()
    {
        var json = GlobalOptions.Json();
        var cmd = new Command("list", "List registered models") { json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var r = await client.GetAsync("api/v1/models", ModelApiJsonContext.Default.ModelListResponse, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) { Output.Json(r, ModelApiJsonContext.Default.ModelListResponse); return ExitCodes.Ok; }
            Output.Table(["NAME", "VERSION", "ARCH", "QUANT", "PARAMS", "SIZE", "SIGNATURE", "IMPORTED"],
                r.Models.Select(m => (IReadOnlyList<string>)[m.Name, m.Version, m.Architecture, m.Quantization,
                    m.ParameterCount.ToString("N0", CultureInfo.InvariantCulture), BundleCommand.Bytes(m.SizeBytes), Sig(m),
                    m.ImportedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)]));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Show()
    {
        var name = new Argument<string>("name") { Description = "NAME or NAME:VERSION" };
        var json = GlobalOptions.Json();
        var cmd = new Command("show", "Show one model, its files and blobs") { name, json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var d = await client.GetAsync($"api/v1/models/{Uri.EscapeDataString(pr.GetValue(name)!)}", ModelApiJsonContext.Default.ModelDetail, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) { Output.Json(d, ModelApiJsonContext.Default.ModelDetail); return ExitCodes.Ok; }
            var m = d.Model;
            Output.Fields([
                ("name", $"{m.Name}:{m.Version}"), ("architecture", m.Architecture), ("quantization", m.Quantization),
                ("parameters", m.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)),
                ("context length", m.ContextLength.ToString(CultureInfo.InvariantCulture)), ("chat template", m.ChatTemplate),
                ("license", m.License), ("signature", Sig(m)), ("imported", $"{m.ImportedAt:u} by {m.ImportedBy}"),
            ]);
            Console.Out.WriteLine();
            Output.Table(["PATH", "KIND", "SIZE", "BLOB"], d.Files.Select(f => (IReadOnlyList<string>)[f.Path, f.Kind, BundleCommand.Bytes(f.Size), f.BlobPath]));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Residency(string verb, string description)
    {
        var name = new Argument<string>("name") { Description = "NAME or NAME:VERSION" };
        var cmd = new Command(verb, description) { name };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var req = new HttpRequestMessage(HttpMethod.Post, $"api/v1/models/{Uri.EscapeDataString(pr.GetValue(name)!)}/{verb}");
            var r = await client.SendAsync(req, TtProtocol.ApiJsonContext.Default.HealthResponse, ct).ConfigureAwait(false);
            Console.Out.WriteLine(r.Detail);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Remove()
    {
        var name = new Argument<string>("name") { Description = "NAME or NAME:VERSION" };
        var cmd = new Command("rm", "Remove a model (blobs no other model uses are deleted)") { name };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var req = new HttpRequestMessage(HttpMethod.Delete, $"api/v1/models/{Uri.EscapeDataString(pr.GetValue(name)!)}");
            var r = await client.SendAsync(req, ModelApiJsonContext.Default.ModelRemoveResponse, ct).ConfigureAwait(false);
            Console.Out.WriteLine($"removed {r.Name}:{r.Version} ({r.BlobsRemoved} blob(s) deleted)");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Verify()
    {
        var name = new Argument<string>("name") { Description = "NAME or NAME:VERSION" };
        var json = GlobalOptions.Json();
        var cmd = new Command("verify", "Re-hash a model's blobs at rest and report any rot (exit 1 if any)") { name, json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var req = new HttpRequestMessage(HttpMethod.Post, $"api/v1/models/{Uri.EscapeDataString(pr.GetValue(name)!)}/verify");
            var r = await client.SendAsync(req, ModelApiJsonContext.Default.ModelVerifyResponse, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) Output.Json(r, ModelApiJsonContext.Default.ModelVerifyResponse);
            else
            {
                Output.Table(["PATH", "STATUS", "DETAIL"], r.Files.Select(f => (IReadOnlyList<string>)[f.Path, f.Status, f.Detail]));
                Console.Out.WriteLine(r.Ok ? $"{r.Name}:{r.Version}: all blobs intact" : $"{r.Name}:{r.Version}: DAMAGED");
            }
            return r.Ok ? ExitCodes.Ok : ExitCodes.Failure;
        }));
        return cmd;
    }

    private static Command Export()
    {
        var name = new Argument<string>("name") { Description = "NAME or NAME:VERSION" };
        var output = new Option<string>("--output", "-o") { Description = "the .ttmodel to write", Required = true };
        var cmd = new Command("export", "Write a model back as a bundle (original manifest and signature) that imports elsewhere") { name, output };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            string outPath = pr.GetValue(output)!;
            var req = new HttpRequestMessage(HttpMethod.Get, $"api/v1/models/{Uri.EscapeDataString(pr.GetValue(name)!)}/export");
            using var resp = await client.SendRawAsync(req, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            long total = resp.Content.Headers.ContentLength ?? 0;
            var progress = new ModelProgress("export", total);
            long written = 0;
            await AtomicFile.WriteAsync(outPath, async fs =>
            {
                await using var body = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                await new ModelProgress.ReadStream(body, progress).CopyToAsync(fs, 1 << 20, ct).ConfigureAwait(false);
                written = fs.Length;
                if (total > 0 && written != total)
                    throw new CliException(ExitCodes.DaemonError, $"export ended after {written} of {total} bytes (a blob may be damaged: ttctl model verify)");
            }, ct).ConfigureAwait(false);
            Console.Out.WriteLine($"wrote {outPath} ({BundleCommand.Bytes(written)})");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static string Sig(ModelSummary m) => m.Signature switch
    {
        "trusted" or "untrusted" => $"{m.Signature} {m.SignerKeyId}",
        _ => m.Signature,
    };
}
