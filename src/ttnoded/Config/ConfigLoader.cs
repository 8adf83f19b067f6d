using System.Text.Json;

namespace Ttnoded.Config;

/// <summary>
/// Reads the JSON configuration file by hand (no reflection binding), collecting every error before refusing to start.
/// Each known key is one row of <see cref="Keys"/>; an unknown key is an error, because a typo must not silently mean "default".
/// </summary>
public static class ConfigLoader
{
    private delegate string? Setter(DaemonConfig config, JsonElement value);

    private static readonly Dictionary<string, Setter> Keys = new(StringComparer.Ordinal)
    {
        ["socket"] = (c, v) => Str(v, s => c.Socket = s),
        ["stateDir"] = (c, v) => Str(v, s => c.StateDir = s),
        ["logDir"] = (c, v) => Str(v, s => c.LogDir = s),
        ["sysroot"] = (c, v) => Str(v, s => c.Sysroot = s),
        ["socketGroup"] = (c, v) => Str(v, s => c.SocketGroup = s),
        ["adminGroup"] = (c, v) => Str(v, s => c.AdminGroup = s),
        ["logLevel"] = (c, v) => OneOf(v, ["Verbose", "Debug", "Information", "Warning", "Error", "Fatal"], s => c.LogLevel = s),
        ["trust.policy"] = (c, v) => OneOf(v, ["strict", "warn", "off"], s => c.Trust.Policy = s),
        ["trust.keysDir"] = (c, v) => Str(v, s => c.Trust.KeysDir = s),
        ["jobs.maxQueued"] = (c, v) => Int(v, 1, 1_000_000, n => c.Jobs.MaxQueued = n),
        ["jobs.maxQueuedPerUser"] = (c, v) => Int(v, 1, 1_000_000, n => c.Jobs.MaxQueuedPerUser = n),
        ["jobs.maxRunning"] = (c, v) => Int(v, 1, 256, n => c.Jobs.MaxRunning = n),
        ["jobs.retentionHours"] = (c, v) => Int(v, 0, 1_000_000, n => c.Jobs.RetentionHours = n),
        ["jobs.retentionCount"] = (c, v) => Int(v, 0, 100_000_000, n => c.Jobs.RetentionCount = n),
        ["jobs.onRestart"] = (c, v) => OneOf(v, ["requeue", "fail"], s => c.Jobs.OnRestart = s),
        ["jobs.agingSeconds"] = (c, v) => Int(v, 1, 86_400, n => c.Jobs.AgingSeconds = n),
        ["jobs.usageHalfLifeMinutes"] = (c, v) => Int(v, 1, 10_080, n => c.Jobs.UsageHalfLifeMinutes = n),
        ["jobs.maxRunningPerUser"] = (c, v) => Int(v, 1, 256, n => c.Jobs.MaxRunningPerUser = n),
        ["jobs.maxRunningPerProject"] = (c, v) => Int(v, 1, 256, n => c.Jobs.MaxRunningPerProject = n),
        ["jobs.maxRunningPerModel"] = (c, v) => Int(v, 1, 256, n => c.Jobs.MaxRunningPerModel = n),
        ["jobs.projectWeights"] = (c, v) => Weights(v, c.Jobs.ProjectWeights),
        ["engine.threads"] = (c, v) => Int(v, 0, 1024, n => c.Engine.Threads = n),
        ["engine.prefixCacheMiB"] = (c, v) => Int(v, 0, 1 << 20, n => c.Engine.PrefixCacheMiB = n),
        ["engine.keepAliveSeconds"] = (c, v) => Int(v, 0, 86_400 * 30, n => c.Engine.KeepAliveSeconds = n),
        ["usb.enabled"] = (c, v) => Bool(v, b => c.Usb.Enabled = b),
        ["usb.autoImport"] = (c, v) => Bool(v, b => c.Usb.AutoImport = b),
        ["usb.busAddress"] = (c, v) => Str(v, s => c.Usb.BusAddress = s),
    };

    /// <summary>Sections that hold keys (an object is expected there).</summary>
    private static readonly HashSet<string> Sections = ["trust", "jobs", "engine", "usb"];

    /// <summary>Loads <paramref name="path"/>; a missing file means defaults. Throws <see cref="ConfigException"/>.</summary>
    public static DaemonConfig Load(string path)
    {
        var config = new DaemonConfig();
        if (!File.Exists(path)) return config;
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"config {path}: cannot read: {e.Message}");
        }
        return Parse(bytes, path, config);
    }

    /// <summary>Parses configuration bytes into <paramref name="config"/>; <paramref name="origin"/> names the source in errors.</summary>
    public static DaemonConfig Parse(ReadOnlySpan<byte> json, string origin, DaemonConfig? config = null)
    {
        config ??= new DaemonConfig();
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            doc = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"config {origin}: not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ConfigException($"config {origin}: the top level must be a JSON object");
            var errors = new List<string>();
            Walk(doc.RootElement, prefix: "", config, errors);
            if (errors.Count > 0)
                throw new ConfigException(string.Join('\n', errors.Select(e => $"config {origin}: {e}")));
        }
        return config;
    }

    private static void Walk(JsonElement obj, string prefix, DaemonConfig config, List<string> errors)
    {
        foreach (var prop in obj.EnumerateObject())
        {
            string key = prefix.Length == 0 ? prop.Name : prefix + "." + prop.Name;
            if (prefix.Length == 0 && Sections.Contains(prop.Name))
            {
                if (prop.Value.ValueKind != JsonValueKind.Object) errors.Add($"key '{key}': expected an object, got {Describe(prop.Value)}");
                else Walk(prop.Value, key, config, errors);
                continue;
            }
            if (!Keys.TryGetValue(key, out var set)) { errors.Add($"key '{key}': unknown key"); continue; }
            string? error = set(config, prop.Value);
            if (error is not null) errors.Add($"key '{key}': {error}");
        }
    }

    private static string? Str(JsonElement v, Action<string> set)
    {
        if (v.ValueKind != JsonValueKind.String) return $"expected a string, got {Describe(v)}";
        string s = v.GetString()!;
        if (s.Length == 0) return "must not be empty";
        set(s);
        return null;
    }

    private static string? OneOf(JsonElement v, string[] allowed, Action<string> set)
    {
        if (v.ValueKind != JsonValueKind.String) return $"expected one of {string.Join('|', allowed)}, got {Describe(v)}";
        string s = v.GetString()!;
        if (!allowed.Contains(s, StringComparer.Ordinal)) return $"expected one of {string.Join('|', allowed)}, got \"{s}\"";
        set(s);
        return null;
    }

    private static string? Bool(JsonElement v, Action<bool> set)
    {
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return $"expected true or false, got {Describe(v)}";
        set(v.GetBoolean());
        return null;
    }

    private static string? Int(JsonElement v, int min, int max, Action<int> set)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n)) return $"expected a whole number, got {Describe(v)}";
        if (n < min || n > max) return $"{n} is outside {min}..{max}";
        set(n);
        return null;
    }

    private static string? Weights(JsonElement v, Dictionary<string, double> into)
    {
        if (v.ValueKind != JsonValueKind.Object) return $"expected an object of project: weight, got {Describe(v)}";
        foreach (var p in v.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out double w) || w <= 0 || w > 1_000_000)
                return $"weight of '{p.Name}' must be a number in (0, 1000000], got {Describe(p.Value)}";
            into[p.Name] = w;
        }
        return null;
    }

    private static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => $"\"{v.GetString()}\"",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => v.GetRawText(),
    };
}
