using System.CommandLine;
using TtProtocol.Models;
using TtProtocol.Usb;

namespace Ttctl.Commands;

/// <summary>
/// `ttctl usb list [--json]` and `ttctl usb import FILE`: model bundles on the removable drives the daemon sees mounted
/// (through udisks2). The daemon reads the file from the drive itself; it accepts only a *.ttmodel at the top of a
/// mounted removable drive.
/// </summary>
internal static class UsbCommand
{
    public static Command Create()
    {
        var usb = new Command("usb", "Model bundles on mounted USB drives (watched through udisks2)");
        usb.Subcommands.Add(List());
        usb.Subcommands.Add(Import());
        return usb;
    }

    private static Command List()
    {
        var json = GlobalOptions.Json();
        var cmd = new Command("list", "List mounted removable drives and the *.ttmodel bundles at their top level") { json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            var r = await client.GetAsync("api/v1/usb", UsbJsonContext.Default.UsbListResponse, ct).ConfigureAwait(false);
            if (pr.GetValue(json)) { Output.Json(r, UsbJsonContext.Default.UsbListResponse); return ExitCodes.Ok; }
            Console.Out.WriteLine($"usb: {r.Status}{(r.Enabled ? r.AutoImport ? "; auto-import on (trusted signatures only)" : "; auto-import off" : "")}");
            foreach (var d in r.Drives)
            {
                Console.Out.WriteLine();
                string what = string.Join(", ", new[] { d.Device, d.Label is null ? null : $"label {d.Label}", d.Drive, d.ConnectionBus }
                    .Where(s => !string.IsNullOrEmpty(s)));
                Console.Out.WriteLine($"{d.MountPoint} ({what})");
                if (d.Error is not null) Console.Out.WriteLine($"  cannot list: {d.Error}");
                else if (d.Bundles.Count == 0) Console.Out.WriteLine("  no *.ttmodel files at the top of the drive");
                else Output.Table(["FILE", "MODEL", "SIZE", "SIGNATURE", "STATE"], d.Bundles.Select(Row));
            }
            if (r.Enabled && r.Drives.Count == 0) Console.Out.WriteLine("no removable drive mounted");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static IReadOnlyList<string> Row(UsbBundleInfo b) =>
    [
        Path.GetFileName(b.Path),
        b.Name is null ? "-" : $"{b.Name}:{b.Version}",
        BundleCommand.Bytes(b.Size),
        b.SignerKeyId is null ? b.Signature : $"{b.Signature} ({b.SignerKeyId})",
        b.Error is not null && b.Name is null ? b.Error : b.AutoImport ?? (b.Registered ? "registered" : "-"),
    ];

    private static Command Import()
    {
        var file = new Argument<string>("file") { Description = "a .ttmodel at the top of a mounted drive (as listed by ttctl usb list)" };
        var json = GlobalOptions.Json();
        var cmd = new Command("import", "Import a bundle from a mounted drive (the daemon reads it; its trust policy applies)") { file, json };
        cmd.SetAction((pr, ct) => CommandRunner.WithDaemonAsync(pr, async client =>
        {
            string path = Path.GetFullPath(pr.GetValue(file)!);
            var r = await client.PostAsync("api/v1/usb/import", new UsbImportRequest(path), UsbJsonContext.Default.UsbImportRequest,
                ModelApiJsonContext.Default.ModelImportResponse, ct).ConfigureAwait(false);
            foreach (var w in r.Warnings) BundleCommand.Warn(w);
            if (pr.GetValue(json)) { Output.Json(r, ModelApiJsonContext.Default.ModelImportResponse); return ExitCodes.Ok; }
            string sig = r.Model.SignerKeyId is null ? r.Model.Signature : $"{r.Model.Signature}, key {r.Model.SignerKeyId}";
            Console.Out.WriteLine($"imported {r.Model.Name}:{r.Model.Version} ({sig}) from {path}, {BundleCommand.Bytes(r.BytesRead)} in {r.Seconds:0.0}s");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
