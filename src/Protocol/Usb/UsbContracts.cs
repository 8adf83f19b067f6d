using System.Text.Json;
using System.Text.Json.Serialization;

namespace TtProtocol.Usb;

// Wire contracts of /api/v1/usb (camelCase): the one copy, used by ttnoded and ttctl.

/// <summary>GET /api/v1/usb.</summary>
/// <param name="Enabled">usb.enabled.</param>
/// <param name="AutoImport">usb.autoImport.</param>
/// <param name="Connected">True while udisks2 answers on the bus.</param>
/// <param name="Status">One line: what the watcher is doing, or why it cannot.</param>
/// <param name="Drives">Mounted removable filesystems.</param>
public sealed record UsbListResponse(bool Enabled, bool AutoImport, bool Connected, string Status, IReadOnlyList<UsbDriveInfo> Drives);

/// <summary>One mounted removable filesystem and the bundles at its top level.</summary>
/// <param name="Device">Block device (/dev/sdb1).</param>
/// <param name="Label">Filesystem label.</param>
/// <param name="MountPoint">Mount point.</param>
/// <param name="Drive">Vendor and model, if known.</param>
/// <param name="ConnectionBus">usb, sdio, ...</param>
/// <param name="Bundles">Top-level <c>*.ttmodel</c> files, by name.</param>
/// <param name="Error">Why the drive could not be listed, if so.</param>
public sealed record UsbDriveInfo(string Device, string? Label, string MountPoint, string? Drive, string ConnectionBus,
    IReadOnlyList<UsbBundleInfo> Bundles, string? Error = null);

/// <summary>A bundle file on a drive, as its manifest and signature claim (payload hashes are checked only on import).</summary>
/// <param name="Path">Full path.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Name">Model name (null if the manifest is unreadable).</param>
/// <param name="Version">Model version.</param>
/// <param name="Architecture">Architecture.</param>
/// <param name="Quantization">Quantization.</param>
/// <param name="Signature">trusted, untrusted, unsigned, invalid or unreadable (against this node's trusted keys).</param>
/// <param name="SignerKeyId">Signer key id when the signature is valid.</param>
/// <param name="Registered">True when NAME:VERSION is already in the model store.</param>
/// <param name="AutoImport">What auto-import did with this file (imported, skipped: why, failed: why), if it ran.</param>
/// <param name="Error">Why the bundle could not be read, if so.</param>
public sealed record UsbBundleInfo(string Path, long Size, string? Name, string? Version, string? Architecture, string? Quantization,
    string Signature, string? SignerKeyId, bool Registered, string? AutoImport = null, string? Error = null);

/// <summary>POST /api/v1/usb/import.</summary>
/// <param name="Path">A <c>*.ttmodel</c> at the top of a mounted removable drive.</param>
public sealed record UsbImportRequest(string Path);

/// <summary>Source-generated JSON for /api/v1/usb.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UsbListResponse))]
[JsonSerializable(typeof(UsbImportRequest))]
public sealed partial class UsbJsonContext : JsonSerializerContext;
