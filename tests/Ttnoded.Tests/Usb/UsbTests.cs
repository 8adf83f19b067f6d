using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using TestSupport;
using TtBundles;
using TtBundles.Signing;
using TtProtocol.Models;
using TtProtocol.Usb;
using Ttnoded.Usb;

namespace Ttnoded.Tests.Usb;

/// <summary>
/// End to end: a real dbus-daemon on a private address, the fake udisks2 service on it, a real ttnoded process told only
/// the bus address, and real bundles made from the stories260K GGUF.
/// </summary>
public sealed class UsbTests : IAsyncLifetime
{
    private static readonly string Gguf = Path.Combine(RepoPaths.SharedModels, "stories260K", "stories260K.gguf");
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _dir = Directory.CreateTempSubdirectory("ttusb-test-").FullName;
    private readonly ECDsa _trusted = BundleKeys.Generate();
    private readonly ECDsa _stranger = BundleKeys.Generate();
    private DbusDaemon? _bus;
    private FakeUDisks? _udisks;
    private DaemonProcess? _daemon;

    private string KeysDir => Path.Combine(_dir, "keys");
    private string BusSocket => Path.Combine(_dir, "bus.sock");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(KeysDir);
        File.WriteAllText(Path.Combine(KeysDir, "release.pub"), BundleKeys.ExportPublicPem(_trusted));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null) await _daemon.DisposeAsync();
        _udisks?.Dispose();
        _bus?.Dispose();
        _trusted.Dispose();
        _stranger.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private void StartBus()
    {
        _bus = DbusDaemon.Start(BusSocket);
        _udisks = new FakeUDisks(_bus.Address);
    }

    private DaemonProcess StartDaemon(bool autoImport = false, string policy = "strict", string? busAddress = null)
    {
        _daemon = new DaemonProcess();
        _daemon.WriteConfig(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["trust"] = new Dictionary<string, string> { ["policy"] = policy, ["keysDir"] = KeysDir },
            ["usb"] = new Dictionary<string, object> { ["autoImport"] = autoImport, ["busAddress"] = busAddress ?? $"unix:path={BusSocket}" },
        }));
        return _daemon.StartReady();
    }

    /// <summary>A drive's mount point: a temp dir holding the named bundles.</summary>
    private string Stick(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;

    private static async Task<string> BundleAsync(string dir, string file, string name, ECDsa? key, string version = "1")
    {
        string path = Path.Combine(dir, file);
        await BundleCreator.CreateAsync(new BundleCreateOptions
        {
            GgufPath = Gguf, Name = name, Version = version, OutputPath = path, License = "MIT", Key = key,
            Created = new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero),
        });
        return path;
    }

    private async Task<UsbListResponse> ListAsync()
    {
        using var http = _daemon!.Http();
        return (await http.GetFromJsonAsync("api/v1/usb", UsbJsonContext.Default.UsbListResponse))!;
    }

    private async Task<UsbListResponse> WaitForAsync(Func<UsbListResponse, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        UsbListResponse r;
        do
        {
            r = await ListAsync();
            if (condition(r)) return r;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        throw new TimeoutException($"{what}: last answer {JsonSerializer.Serialize(r, UsbJsonContext.Default.UsbListResponse)}\n{_daemon!.Output}");
    }

    private async Task<HttpResponseMessage> PostImportAsync(string path)
    {
        using var http = _daemon!.Http(TimeSpan.FromSeconds(60));
        return await http.PostAsJsonAsync("api/v1/usb/import", new UsbImportRequest(path), UsbJsonContext.Default.UsbImportRequest);
    }

    private async Task<IReadOnlyList<ModelSummary>> ModelsAsync()
    {
        using var http = _daemon!.Http();
        return (await http.GetFromJsonAsync("api/v1/models", ModelApiJsonContext.Default.ModelListResponse))!.Models;
    }

    [Fact]
    public async Task Plug_ListsTopLevelBundles_Unplug_RemovesThem()
    {
        StartBus();
        StartDaemon();
        string stick = Stick("stick");
        await BundleAsync(stick, "stories.ttmodel", "stories", _trusted);
        await BundleAsync(stick, "unsigned.ttmodel", "plain", null);
        await BundleAsync(stick, "stranger.TTMODEL", "other", _stranger);
        File.WriteAllText(Path.Combine(stick, "broken.ttmodel"), "not a tar");
        File.WriteAllText(Path.Combine(stick, "notes.txt"), "hello");
        Directory.CreateDirectory(Path.Combine(stick, "deeper"));
        await BundleAsync(Path.Combine(stick, "deeper"), "nested.ttmodel", "nested", _trusted);
        File.CreateSymbolicLink(Path.Combine(stick, "link.ttmodel"), Path.Combine(stick, "stories.ttmodel"));

        var empty = await WaitForAsync(r => r.Connected, "watcher connects");
        Assert.Empty(empty.Drives);
        Assert.False(empty.AutoImport);

        var drive = _udisks!.Plug(stick);
        var r = await WaitForAsync(r => r.Drives.Count == 1, "drive listed after plug");
        var d = Assert.Single(r.Drives);
        Assert.Equal((stick, drive.Device, "MODELS", "Fake Stick", "usb"), (d.MountPoint, d.Device, d.Label, d.Drive, d.ConnectionBus));
        Assert.Equal(["broken.ttmodel", "stories.ttmodel", "stranger.TTMODEL", "unsigned.ttmodel"], d.Bundles.Select(b => Path.GetFileName(b.Path)));
        var byFile = d.Bundles.ToDictionary(b => Path.GetFileName(b.Path));
        var stories = byFile["stories.ttmodel"];
        Assert.Equal(("stories", "1", "trusted", BundleKeys.KeyId(_trusted), false), (stories.Name, stories.Version, stories.Signature, stories.SignerKeyId, stories.Registered));
        Assert.Equal(new FileInfo(Path.Combine(stick, "stories.ttmodel")).Length, stories.Size);
        Assert.Equal(("plain", "unsigned"), (byFile["unsigned.ttmodel"].Name, byFile["unsigned.ttmodel"].Signature));
        Assert.Equal(("other", "untrusted", BundleKeys.KeyId(_stranger)), (byFile["stranger.TTMODEL"].Name, byFile["stranger.TTMODEL"].Signature, byFile["stranger.TTMODEL"].SignerKeyId));
        Assert.Equal("unreadable", byFile["broken.ttmodel"].Signature);
        Assert.NotNull(byFile["broken.ttmodel"].Error);
        Assert.Null(stories.AutoImport); // auto-import is off

        // ttctl renders the same thing.
        var (code, stdout, stderr) = await Binaries.RunAsync(Binaries.StartInfo("ttctl", ["--socket", _daemon!.SocketPath, "usb", "list"]));
        Assert.True(code == 0, stderr);
        Assert.Contains(stick, stdout);
        Assert.Contains("stories:1", stdout);
        Assert.Contains("untrusted", stdout);

        _udisks.Unplug(drive);
        await WaitForAsync(r => r.Drives.Count == 0, "drive gone after unplug");
    }

    [Fact]
    public async Task OnlyMountedRemovableFilesystems_AreListed_MountAfterPlugIsNoticed()
    {
        StartBus();
        StartDaemon();
        string fixedDisk = Stick("fixed");
        string stick = Stick("late");
        await BundleAsync(stick, "stories.ttmodel", "stories", _trusted);
        _udisks!.Plug(fixedDisk, removable: false, connectionBus: "");
        var late = _udisks.Plug(null);
        var r = await WaitForAsync(r => r.Connected, "watcher connects");
        await Task.Delay(500);
        Assert.Empty((await ListAsync()).Drives);

        _udisks.SetMountPoint(late, stick);
        r = await WaitForAsync(r => r.Drives.Count == 1, "drive listed after mount");
        Assert.Equal(stick, r.Drives[0].MountPoint);
        _udisks.SetMountPoint(late, null);
        await WaitForAsync(r => r.Drives.Count == 0, "drive gone after unmount");
    }

    [Fact]
    public async Task Import_AcceptsOnlyBundlesAtTheTopOfAMountedDrive()
    {
        StartBus();
        StartDaemon();
        string stick = Stick("stick");
        string bundle = await BundleAsync(stick, "stories.ttmodel", "stories", _trusted);
        Directory.CreateDirectory(Path.Combine(stick, "deeper"));
        string nested = await BundleAsync(Path.Combine(stick, "deeper"), "nested.ttmodel", "nested", _trusted);
        string elsewhere = await BundleAsync(Stick("not-a-drive"), "x.ttmodel", "x", _trusted);
        File.WriteAllText(Path.Combine(stick, "notes.txt"), "hello");
        File.CreateSymbolicLink(Path.Combine(stick, "link.ttmodel"), elsewhere);
        _udisks!.Plug(stick);
        await WaitForAsync(r => r.Drives.Count == 1, "drive listed");

        foreach (var (path, status, needle) in new[]
        {
            (elsewhere, HttpStatusCode.BadRequest, "not at the top of a mounted removable drive"),
            (nested, HttpStatusCode.BadRequest, "not at the top of a mounted removable drive"),
            (Path.Combine(stick, "deeper", "..", "..", "not-a-drive", "x.ttmodel"), HttpStatusCode.BadRequest, "not at the top"),
            (Path.Combine(stick, "notes.txt"), HttpStatusCode.BadRequest, "not a .ttmodel file"),
            (Path.Combine(stick, "link.ttmodel"), HttpStatusCode.BadRequest, "not a regular file"),
            (Path.Combine(stick, "missing.ttmodel"), HttpStatusCode.NotFound, "no such file"),
            ("stories.ttmodel", HttpStatusCode.BadRequest, "must be absolute"),
            ("/etc/passwd", HttpStatusCode.BadRequest, "not a .ttmodel file"),
        })
        {
            using var resp = await PostImportAsync(path);
            string body = await resp.Content.ReadAsStringAsync();
            Assert.True(status == resp.StatusCode, $"{path}: {resp.StatusCode} {body}");
            Assert.Contains(needle, body);
        }
        Assert.Empty(await ModelsAsync());

        var (code, stdout, stderr) = await Binaries.RunAsync(Binaries.StartInfo("ttctl", ["--socket", _daemon!.SocketPath, "usb", "import", bundle]));
        Assert.True(code == 0, stderr);
        Assert.Contains("imported stories:1 (trusted", stdout);
        Assert.Equal(["stories"], (await ModelsAsync()).Select(m => m.Name));
        Assert.True((await ListAsync()).Drives[0].Bundles.Single(b => b.Name == "stories").Registered);

        if (Binaries.IsRoot)
        {
            // A non-admin user may list, not import.
            var nobody = Binaries.AsUser(Binaries.StartInfo("ttctl", ["--socket", _daemon.SocketPath, "usb", "import", bundle]), 65534, 65534);
            File.SetUnixFileMode(_daemon.SocketPath, (UnixFileMode)0x1B6); // 0666: the socket group is irrelevant here
            var (c2, _, e2) = await Binaries.RunAsync(nobody);
            Assert.NotEqual(0, c2);
            Assert.Contains("admin", e2);
        }
    }

    [Fact]
    public async Task AutoImport_ImportsTrustedBundles_SkipsUnsignedAndUntrusted_EvenUnderWarnPolicy()
    {
        StartBus();
        StartDaemon(autoImport: true, policy: "warn");
        string stick = Stick("stick");
        await BundleAsync(stick, "stories.ttmodel", "stories", _trusted);
        await BundleAsync(stick, "unsigned.ttmodel", "plain", null);
        await BundleAsync(stick, "stranger.ttmodel", "other", _stranger);
        var drive = _udisks!.Plug(stick);

        var r = await WaitForAsync(r => r.Drives.Count == 1 && r.Drives[0].Bundles.All(b => b.AutoImport is not null), "auto-import decided every bundle");
        var byName = r.Drives[0].Bundles.ToDictionary(b => b.Name!);
        Assert.Equal("imported", byName["stories"].AutoImport);
        Assert.True(byName["stories"].Registered);
        Assert.StartsWith("skipped: unsigned", byName["plain"].AutoImport);
        Assert.StartsWith($"skipped: signed by key {BundleKeys.KeyId(_stranger)}, which is not trusted", byName["other"].AutoImport);
        var models = await ModelsAsync();
        var m = Assert.Single(models);
        Assert.Equal(("stories", "trusted", UsbService.AutoImportUser), (m.Name, m.Signature, m.ImportedBy));

        using var http = _daemon!.Http();
        string audit = await http.GetStringAsync("api/v1/audit?limit=50");
        Assert.Contains("usb auto-import from " + Path.Combine(stick, "stories.ttmodel"), audit);
        Assert.Contains("unsigned (auto-import takes only bundles signed by a trusted key)", audit);
        Assert.Contains("auto-imported stories:1 from", _daemon.Output + ReadLogs(_daemon.LogDir));

        // Unplug and plug again: decided afresh, and the registered model is not imported twice.
        _udisks.Unplug(drive);
        await WaitForAsync(r => r.Drives.Count == 0, "drive gone");
        _udisks.Plug(stick);
        r = await WaitForAsync(r => r.Drives.Count == 1 && r.Drives[0].Bundles.All(b => b.AutoImport is not null), "decided again");
        Assert.Equal("skipped: stories:1 is already registered", r.Drives[0].Bundles.Single(b => b.Name == "stories").AutoImport);
        Assert.Single(await ModelsAsync());
    }

    [Fact]
    public async Task BusAbsent_DaemonStillStarts_AndPicksUpTheBusWhenItAppears()
    {
        var daemon = StartDaemon(); // nothing listens on bus.sock yet
        var r = await ListAsync();
        Assert.True(r.Enabled);
        Assert.False(r.Connected);
        Assert.Contains("not connected", r.Status);
        using (var http = daemon.Http())
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/health")).StatusCode);
        await Task.Delay(2500); // a few retries
        // One warning (console and log file each carry it once), then quiet retries.
        const string warning = "usb: cannot watch USB drives";
        Assert.Equal(1, Math.Max(CountOccurrences(daemon.Output, warning), CountOccurrences(ReadLogs(daemon.LogDir), warning)));
        Assert.True(CountOccurrences(daemon.Output, warning) <= 1 && CountOccurrences(ReadLogs(daemon.LogDir), warning) <= 1, daemon.Output);

        StartBus();
        string stick = Stick("stick");
        await BundleAsync(stick, "stories.ttmodel", "stories", _trusted);
        _udisks!.Plug(stick);
        r = await WaitForAsync(r => r.Drives.Count == 1, "drive listed once the bus is up");
        Assert.True(r.Connected);
    }

    [Fact]
    public async Task UdisksStartsAfterTheDaemon_IsNoticed()
    {
        _bus = DbusDaemon.Start(BusSocket);
        StartDaemon();
        var r = await WaitForAsync(r => r.Status.Contains("udisks2 is not there"), "waiting for udisks2");
        Assert.False(r.Connected);
        _udisks = new FakeUDisks(_bus.Address);
        string stick = Stick("stick");
        _udisks.Plug(stick);
        await WaitForAsync(r => r.Connected && r.Drives.Count == 1, "drive listed once udisks2 is up");
    }

    [Fact]
    public async Task Disabled_ListsNothing_RefusesImport()
    {
        _daemon = new DaemonProcess();
        _daemon.WriteConfig("""{"usb": {"enabled": false}}""");
        _daemon.StartReady();
        var r = await ListAsync();
        Assert.False(r.Enabled);
        Assert.Empty(r.Drives);
        using var resp = await PostImportAsync("/media/x.ttmodel");
        Assert.Equal(HttpStatusCode.Conflict, resp.StatusCode);
    }

    [Fact]
    public void WireContracts_JsonIsPinned()
    {
        // ttnoded and ttctl share these types (src/Protocol/Usb); this pins the JSON an older ttctl or a script reads.
        var r = new UsbListResponse(true, true, true, "watching", [
            new UsbDriveInfo("/dev/sdb1", "MODELS", "/media/x", "Fake Stick", "usb", [
                new UsbBundleInfo("/media/x/a.ttmodel", 42, "a", "1", "llama", "Q4_0", "trusted", "abcd", true, "imported", null),
            ]),
        ]);
        string json = JsonSerializer.Serialize(r, UsbJsonContext.Default.UsbListResponse);
        Assert.Equal("""
            {"enabled":true,"autoImport":true,"connected":true,"status":"watching","drives":[{"device":"/dev/sdb1","label":"MODELS","mountPoint":"/media/x","drive":"Fake Stick","connectionBus":"usb","bundles":[{"path":"/media/x/a.ttmodel","size":42,"name":"a","version":"1","architecture":"llama","quantization":"Q4_0","signature":"trusted","signerKeyId":"abcd","registered":true,"autoImport":"imported"}]}]}
            """, json);
        Assert.Equal(json, JsonSerializer.Serialize(JsonSerializer.Deserialize(json, UsbJsonContext.Default.UsbListResponse)!, UsbJsonContext.Default.UsbListResponse));
    }

    [Fact]
    public void Config_UsbKeys()
    {
        var c = Ttnoded.Config.ConfigLoader.Parse("""{"usb": {"enabled": false, "autoImport": true, "busAddress": "unix:path=/tmp/x"}}"""u8, "test");
        Assert.Equal((false, true, "unix:path=/tmp/x"), (c.Usb.Enabled, c.Usb.AutoImport, c.Usb.BusAddress));
        var d = new Ttnoded.Config.DaemonConfig();
        Assert.Equal((true, false, (string?)null), (d.Usb.Enabled, d.Usb.AutoImport, d.Usb.BusAddress));
        var e = Assert.Throws<Ttnoded.Config.ConfigException>(() => Ttnoded.Config.ConfigLoader.Parse("""{"usb": {"autoImport": "yes", "bus": 1}}"""u8, "test"));
        Assert.Contains("key 'usb.autoImport': expected true or false", e.Message);
        Assert.Contains("key 'usb.bus': unknown key", e.Message);
    }

    private static string ReadLogs(string dir)
    {
        if (!Directory.Exists(dir)) return "";
        var text = new System.Text.StringBuilder();
        foreach (var f in Directory.GetFiles(dir))
        {
            using var fs = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            text.Append(new StreamReader(fs).ReadToEnd());
        }
        return text.ToString();
    }

    private static int CountOccurrences(string text, string needle)
    {
        int n = 0;
        for (int i = text.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = text.IndexOf(needle, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
