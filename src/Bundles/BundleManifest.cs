using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TtBundles;

/// <summary>
/// The <c>manifest.json</c> of a bundle (format version 1). Serialized in snake_case (see <see cref="BundleJsonContext"/>).
/// The signature covers the exact bytes written, so a manifest is never re-serialized once signed; keep
/// <see cref="BundleVerification.ManifestBytes"/> when you need to reproduce the bundle.
/// </summary>
public sealed class BundleManifest
{
    /// <summary>Bundle format version; readers reject any value but <see cref="BundleConstants.FormatVersion"/>.</summary>
    public int FormatVersion { get; init; } = BundleConstants.FormatVersion;
    /// <summary>Model name, <c>[a-z0-9][a-z0-9._-]*</c>, at most 64 characters.</summary>
    public string Name { get; init; } = "";
    /// <summary>Model version, same alphabet as the name.</summary>
    public string Version { get; init; } = "";
    /// <summary>GGUF <c>general.architecture</c>, e.g. <c>llama</c>.</summary>
    public string Architecture { get; init; } = "";
    /// <summary>Quantization name derived from <c>general.file_type</c>, e.g. <c>Q4_K_M</c>, <c>F32</c>.</summary>
    public string Quantization { get; init; } = "";
    /// <summary>Sum of the element counts of all tensors.</summary>
    public long ParameterCount { get; init; }
    /// <summary><c>&lt;arch&gt;.context_length</c>.</summary>
    public long ContextLength { get; init; }
    /// <summary>Chat template id: <c>llama3</c>, <c>llama2</c>, <c>none</c> or <c>custom</c>.</summary>
    public string ChatTemplate { get; init; } = "none";
    /// <summary>Minimum ttnoded engine version, dotted numeric (e.g. <c>0.1.0</c>).</summary>
    public string EngineVersion { get; init; } = "";
    /// <summary>Hardware requirements.</summary>
    public HardwareRequirements Hardware { get; init; } = new();
    /// <summary>SPDX license id, or <c>NOASSERTION</c>.</summary>
    public string License { get; init; } = "NOASSERTION";
    /// <summary>Creation time, RFC 3339 UTC (<c>2025-01-31T12:00:00Z</c>).</summary>
    public string Created { get; init; } = "";
    /// <summary>Payload files in tar order.</summary>
    public List<PayloadFile> Files { get; init; } = [];

    /// <summary>The GGUF payload (the one with kind <c>gguf</c>).</summary>
    [JsonIgnore]
    public PayloadFile Gguf => Files.First(f => f.Kind == PayloadKinds.Gguf);

    /// <summary>Total payload bytes.</summary>
    [JsonIgnore]
    public long PayloadBytes => Files.Sum(f => f.Size);

    /// <summary>Serializes to the canonical manifest bytes (indented, LF, trailing newline).</summary>
    public byte[] ToBytes()
    {
        Validate();
        var json = JsonSerializer.SerializeToUtf8Bytes(this, BundleJsonContext.Default.BundleManifest);
        var bytes = new byte[json.Length + 1];
        json.CopyTo(bytes, 0);
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>
    /// Parses and validates manifest bytes. Rejects malformed JSON, duplicate property names (a parser-disagreement
    /// attack), unknown properties, any format version but 1, and every invalid field, naming the field.
    /// </summary>
    public static BundleManifest Parse(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > BundleConstants.MaxManifestBytes)
            BundleThrow.Entry(BundleConstants.ManifestName, $"size {utf8.Length} exceeds limit {BundleConstants.MaxManifestBytes}");
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 8 });
            using (var doc = JsonDocument.ParseValue(ref reader))
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    BundleThrow.Manifest("$", "must be a JSON object");
                CheckNoDuplicates(doc.RootElement, "$");
                if (!doc.RootElement.TryGetProperty("format_version", out var fv) || fv.ValueKind != JsonValueKind.Number)
                    BundleThrow.Manifest("format_version", "missing or not a number");
                if (!fv.TryGetInt32(out int v) || v != BundleConstants.FormatVersion)
                    BundleThrow.Manifest("format_version", $"value {fv.GetRawText()} not supported (this reader supports {BundleConstants.FormatVersion})");
            }
            var m = JsonSerializer.Deserialize(utf8, BundleJsonContext.Default.BundleManifest);
            if (m is null) BundleThrow.Manifest("$", "is null");
            m.Validate();
            return m;
        }
        catch (JsonException e)
        {
            BundleThrow.Manifest(e.Path ?? "$", $"invalid JSON: {FirstLine(e.Message)}");
            return null!;
        }
    }

    private static string FirstLine(string s)
    {
        int i = s.IndexOfAny(['\r', '\n']);
        return i < 0 ? s : s[..i];
    }

    private static void CheckNoDuplicates(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                if (!seen.Add(p.Name)) BundleThrow.Manifest($"{path}.{p.Name}", "duplicate property");
                CheckNoDuplicates(p.Value, $"{path}.{p.Name}");
            }
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in e.EnumerateArray()) CheckNoDuplicates(item, $"{path}[{i++}]");
        }
    }

    /// <summary>Checks every field; throws <see cref="BundleException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (FormatVersion != BundleConstants.FormatVersion) BundleThrow.Manifest("format_version", $"value {FormatVersion} not supported");
        CheckName("name", Name);
        CheckName("version", Version);
        CheckText("architecture", Architecture, required: true);
        CheckText("quantization", Quantization, required: true);
        if (ParameterCount < 0) BundleThrow.Manifest("parameter_count", $"value {ParameterCount} is negative");
        if (ContextLength < 0) BundleThrow.Manifest("context_length", $"value {ContextLength} is negative");
        if (ChatTemplate is not ("llama3" or "llama2" or "none" or "custom"))
            BundleThrow.Manifest("chat_template", $"value '{BundleThrow.Printable(ChatTemplate ?? "")}' is not one of llama3, llama2, none, custom");
        if (!VersionNumber.TryParse(EngineVersion, out _))
            BundleThrow.Manifest("engine_version", $"value '{BundleThrow.Printable(EngineVersion ?? "")}' is not a dotted numeric version");
        if (Hardware is null) BundleThrow.Manifest("hardware", "missing");
        Hardware.Validate();
        CheckText("license", License, required: true);
        if (!DateTimeOffset.TryParseExact(Created, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal, out _))
            BundleThrow.Manifest("created", $"value '{BundleThrow.Printable(Created ?? "")}' is not RFC 3339 UTC (yyyy-MM-ddTHH:mm:ssZ)");
        if (Files is null || Files.Count == 0) BundleThrow.Manifest("files", "no payload files");
        if (Files.Count > BundleConstants.MaxPayloadFiles)
            BundleThrow.Manifest("files", $"{Files.Count} entries exceeds limit {BundleConstants.MaxPayloadFiles}");
        var paths = new HashSet<string>(StringComparer.Ordinal);
        int ggufs = 0;
        for (int i = 0; i < Files.Count; i++)
        {
            var f = Files[i];
            if (f is null) BundleThrow.Manifest($"files[{i}]", "is null");
            string? why = BundlePaths.Check(f.Path);
            if (why is not null) BundleThrow.Manifest($"files[{i}].path", $"'{BundleThrow.Printable(f.Path ?? "")}' {why}");
            if (f.Path is BundleConstants.ManifestName or BundleConstants.SignatureName)
                BundleThrow.Manifest($"files[{i}].path", $"'{f.Path}' is a reserved name");
            if (!paths.Add(f.Path)) BundleThrow.Manifest($"files[{i}].path", $"duplicate path '{f.Path}'");
            if (f.Size < 0) BundleThrow.Manifest($"files[{i}].size", $"value {f.Size} is negative");
            if (f.Sha256 is null || f.Sha256.Length != 64 || !f.Sha256.All(char.IsAsciiHexDigitLower))
                BundleThrow.Manifest($"files[{i}].sha256", "must be 64 lower-case hex digits");
            if (f.Kind is not (PayloadKinds.Gguf or PayloadKinds.License or PayloadKinds.Readme or PayloadKinds.Other))
                BundleThrow.Manifest($"files[{i}].kind", $"value '{BundleThrow.Printable(f.Kind ?? "")}' is not one of gguf, license, readme, other");
            if (f.Kind == PayloadKinds.Gguf) ggufs++;
        }
        if (ggufs != 1) BundleThrow.Manifest("files", $"must contain exactly one file of kind 'gguf' (found {ggufs})");
    }

    internal static void CheckName(string field, string? value)
    {
        if (string.IsNullOrEmpty(value)) BundleThrow.Manifest(field, "missing");
        if (!IsValidName(value))
            BundleThrow.Manifest(field, $"value '{BundleThrow.Printable(value)}' must match [a-z0-9][a-z0-9._-]* and be at most {BundleConstants.MaxNameLength} characters");
    }

    /// <summary>True when <paramref name="value"/> is a valid model name or version.</summary>
    public static bool IsValidName(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > BundleConstants.MaxNameLength) return false;
        if (!(char.IsAsciiLetterLower(value[0]) || char.IsAsciiDigit(value[0]))) return false;
        foreach (char c in value)
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-')) return false;
        return true;
    }

    internal static void CheckText(string field, string? value, bool required)
    {
        if (string.IsNullOrEmpty(value)) { if (required) BundleThrow.Manifest(field, "missing"); return; }
        if (value.Length > BundleConstants.MaxFieldLength)
            BundleThrow.Manifest(field, $"length {value.Length} exceeds limit {BundleConstants.MaxFieldLength}");
        foreach (char c in value)
            if (char.IsControl(c)) BundleThrow.Manifest(field, "contains a control character");
    }
}

/// <summary>Payload kinds.</summary>
public static class PayloadKinds
{
    /// <summary>The model weights (exactly one per bundle).</summary>
    public const string Gguf = "gguf";
    /// <summary>License text.</summary>
    public const string License = "license";
    /// <summary>Model card / README.</summary>
    public const string Readme = "readme";
    /// <summary>Anything else.</summary>
    public const string Other = "other";
}

/// <summary>One payload file listed in the manifest.</summary>
public sealed class PayloadFile
{
    /// <summary>Relative path inside the bundle (see <see cref="BundlePaths"/>).</summary>
    public string Path { get; init; } = "";
    /// <summary><c>gguf</c>, <c>license</c>, <c>readme</c> or <c>other</c>.</summary>
    public string Kind { get; init; } = PayloadKinds.Other;
    /// <summary>Exact size in bytes.</summary>
    public long Size { get; init; }
    /// <summary>SHA-256 of the content, 64 lower-case hex digits.</summary>
    public string Sha256 { get; init; } = "";
}

/// <summary>How hard a minimum is.</summary>
public static class RequirementPolicies
{
    /// <summary>Import is refused when the node is below the minimum.</summary>
    public const string Strict = "strict";
    /// <summary>Import proceeds with a warning when the node is below the minimum.</summary>
    public const string Suggested = "suggested";
}

/// <summary>A minimum version with a policy (as in tt-inference-server model specs: STRICT or SUGGESTED).</summary>
public sealed class VersionRequirement
{
    /// <summary>Minimum version, dotted numeric.</summary>
    public string Min { get; init; } = "";
    /// <summary><c>strict</c> or <c>suggested</c>.</summary>
    public string Policy { get; init; } = RequirementPolicies.Suggested;

    internal void Validate(string field)
    {
        if (!VersionNumber.TryParse(Min, out _))
            BundleThrow.Manifest($"{field}.min", $"value '{BundleThrow.Printable(Min ?? "")}' is not a dotted numeric version");
        if (Policy is not (RequirementPolicies.Strict or RequirementPolicies.Suggested))
            BundleThrow.Manifest($"{field}.policy", $"value '{BundleThrow.Printable(Policy ?? "")}' is not strict or suggested");
    }
}

/// <summary>Hardware requirements of a model.</summary>
public sealed class HardwareRequirements
{
    /// <summary>Minimum Tenstorrent firmware bundle, or null for none.</summary>
    public VersionRequirement? Firmware { get; init; }
    /// <summary>Minimum tt-kmd driver, or null for none.</summary>
    public VersionRequirement? Driver { get; init; }
    /// <summary>Device kinds the model fits (e.g. <c>n150</c>, <c>n300</c>, <c>p150</c>, <c>cpu</c>); empty means any.</summary>
    public List<string> Devices { get; init; } = [];

    internal void Validate()
    {
        Firmware?.Validate("hardware.firmware");
        Driver?.Validate("hardware.driver");
        if (Devices is null) BundleThrow.Manifest("hardware.devices", "is null");
        if (Devices.Count > BundleConstants.MaxPayloadFiles) BundleThrow.Manifest("hardware.devices", "too many entries");
        for (int i = 0; i < Devices.Count; i++)
            if (!BundleManifest.IsValidName(Devices[i]))
                BundleThrow.Manifest($"hardware.devices[{i}]", $"value '{BundleThrow.Printable(Devices[i] ?? "")}' is not a device name");
    }

    /// <summary>
    /// Compares the requirements with a node. Returns the problems found; each has <c>Fatal</c> set when the policy is
    /// strict (import must be refused) and clear when it is only suggested (import proceeds with a warning).
    /// A null node version means "unknown" and counts as not meeting the minimum.
    /// </summary>
    public List<HardwareProblem> Check(string? nodeFirmware, string? nodeDriver, IReadOnlyCollection<string> nodeDevices)
    {
        var problems = new List<HardwareProblem>();
        CheckMin("firmware", Firmware, nodeFirmware, problems);
        CheckMin("driver", Driver, nodeDriver, problems);
        if (Devices.Count > 0 && !Devices.Any(d => nodeDevices.Contains(d, StringComparer.Ordinal)))
            problems.Add(new HardwareProblem("hardware.devices", true,
                $"model fits [{string.Join(", ", Devices)}]; this node has [{string.Join(", ", nodeDevices)}]"));
        return problems;
    }

    private static void CheckMin(string what, VersionRequirement? req, string? have, List<HardwareProblem> problems)
    {
        if (req is null) return;
        bool fatal = req.Policy == RequirementPolicies.Strict;
        if (have is null || !VersionNumber.TryParse(have, out var h))
            problems.Add(new HardwareProblem($"hardware.{what}", fatal, $"needs {what} >= {req.Min} ({req.Policy}); this node's {what} version is unknown"));
        else if (VersionNumber.TryParse(req.Min, out var min) && h.CompareTo(min) < 0)
            problems.Add(new HardwareProblem($"hardware.{what}", fatal, $"needs {what} >= {req.Min} ({req.Policy}); this node has {have}"));
    }
}

/// <summary>One unmet hardware requirement.</summary>
/// <param name="Field">Manifest field, e.g. <c>hardware.firmware</c>.</param>
/// <param name="Fatal">True for a strict requirement.</param>
/// <param name="Message">One-line description.</param>
public sealed record HardwareProblem(string Field, bool Fatal, string Message);

/// <summary>A dotted numeric version (1 to 4 components), compared numerically.</summary>
public readonly record struct VersionNumber(int Major, int Minor, int Patch, int Build) : IComparable<VersionNumber>
{
    /// <summary>Parses <c>1</c>, <c>1.2</c>, <c>1.2.3</c> or <c>1.2.3.4</c>; missing parts are 0.</summary>
    public static bool TryParse(string? s, out VersionNumber v)
    {
        v = default;
        if (string.IsNullOrEmpty(s) || s.Length > 32) return false;
        var parts = s.Split('.');
        if (parts.Length > 4) return false;
        Span<int> n = stackalloc int[4];
        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i].Length == 0 || !parts[i].All(char.IsAsciiDigit)) return false;
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out n[i])) return false;
        }
        v = new VersionNumber(n[0], n[1], n[2], n[3]);
        return true;
    }

    /// <inheritdoc/>
    public int CompareTo(VersionNumber o)
    {
        int c = Major.CompareTo(o.Major); if (c != 0) return c;
        c = Minor.CompareTo(o.Minor); if (c != 0) return c;
        c = Patch.CompareTo(o.Patch); if (c != 0) return c;
        return Build.CompareTo(o.Build);
    }
}
