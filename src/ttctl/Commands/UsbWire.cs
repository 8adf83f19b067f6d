using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ttctl.Commands;

// Client copy of ttnoded's /api/v1/usb contracts (src/ttnoded/Usb/UsbContracts.cs): ttctl does not reference the daemon.
// tests/Ttnoded.Tests/Usb checks that the daemon's JSON reads back into these types unchanged.

/// <summary>GET /api/v1/usb.</summary>
public sealed record UsbListResponse(bool Enabled, bool AutoImport, bool Connected, string Status, IReadOnlyList<UsbDriveInfo> Drives);

/// <summary>One mounted removable filesystem.</summary>
public sealed record UsbDriveInfo(string Device, string? Label, string MountPoint, string? Drive, string ConnectionBus,
    IReadOnlyList<UsbBundleInfo> Bundles, string? Error = null);

/// <summary>A bundle file at the top of a drive.</summary>
public sealed record UsbBundleInfo(string Path, long Size, string? Name, string? Version, string? Architecture, string? Quantization,
    string Signature, string? SignerKeyId, bool Registered, string? AutoImport = null, string? Error = null);

/// <summary>POST /api/v1/usb/import.</summary>
public sealed record UsbImportRequest(string Path);

/// <summary>Source-generated JSON for /api/v1/usb.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(UsbListResponse))]
[JsonSerializable(typeof(UsbImportRequest))]
public sealed partial class UsbWireJsonContext : JsonSerializerContext;
