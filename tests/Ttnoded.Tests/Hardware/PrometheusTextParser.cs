using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Ttnoded.Tests.Hardware;

/// <summary>
/// A strict parser for the Prometheus text exposition format 0.0.4, written from the spec
/// (prometheus.io/docs/instrumenting/exposition_formats): lines end in '\n'; '# HELP name docstring' and
/// '# TYPE name type' (counter|gauge|histogram|summary|untyped), at most one of each per name, TYPE before
/// the first sample of the family; samples 'name{label="value",...} value [timestamp]'; metric names match
/// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__"; label values
/// escape only \\, \" and \n; values are Go floats (incl. NaN, +Inf, -Inf); all lines of one family are
/// contiguous; no two samples share name and label set. Anything else throws <see cref="FormatException"/>.
/// </summary>
internal static partial class PrometheusTextParser
{
    internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value, long? Timestamp);

    internal sealed record Family(string Name, string? Type, string? Help, List<Sample> Samples);

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")] private static partial Regex MetricName();
    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")] private static partial Regex LabelName();

    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    public static Dictionary<string, Family> Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n')) throw new FormatException("exposition must end with a line feed");
        var families = new Dictionary<string, Family>(StringComparer.Ordinal);
        var closed = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        int lineNo = 0;
        foreach (var line in text.Split('\n').SkipLast(1))
        {
            lineNo++;
            if (line.Length == 0) continue;
            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[0] == "#" && parts[1] is "HELP" or "TYPE")
                {
                    string name = parts[2];
                    if (!MetricName().IsMatch(name)) throw new FormatException($"line {lineNo}: bad metric name '{name}'");
                    var fam = Enter(name, lineNo);
                    if (parts[1] == "HELP")
                    {
                        if (fam.Help is not null) throw new FormatException($"line {lineNo}: second HELP for {name}");
                        families[name] = fam with { Help = Unescape(parts.Length > 3 ? parts[3] : "", help: true, lineNo) };
                    }
                    else
                    {
                        if (fam.Type is not null) throw new FormatException($"line {lineNo}: second TYPE for {name}");
                        if (fam.Samples.Count > 0) throw new FormatException($"line {lineNo}: TYPE for {name} after its samples");
                        if (parts.Length != 4 || !Types.Contains(parts[3])) throw new FormatException($"line {lineNo}: bad TYPE line");
                        families[name] = fam with { Type = parts[3] };
                    }
                }
                continue; // other comments are allowed and ignored
            }
            var sample = ParseSample(line, lineNo);
            var family = Enter(FamilyOf(sample.Name, families), lineNo);
            var key = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
            if (!seen.Add(key)) throw new FormatException($"line {lineNo}: duplicate series {key}");
            family.Samples.Add(sample);
        }
        return families;

        Family Enter(string name, int ln)
        {
            if (current != name)
            {
                if (closed.Contains(name)) throw new FormatException($"line {ln}: family {name} is not contiguous");
                if (current is not null) closed.Add(current);
                current = name;
            }
            if (!families.TryGetValue(name, out var f)) families[name] = f = new Family(name, null, null, []);
            return f;
        }
    }

    /// <summary>Histogram/summary samples (_bucket, _sum, _count) belong to their base family when it is typed so.</summary>
    private static string FamilyOf(string sampleName, Dictionary<string, Family> families)
    {
        foreach (var suffix in (string[])["_bucket", "_sum", "_count"])
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal)
                && families.TryGetValue(sampleName[..^suffix.Length], out var f) && f.Type is "histogram" or "summary")
                return f.Name;
        return sampleName;
    }

    private static Sample ParseSample(string line, int ln)
    {
        int i = 0;
        while (i < line.Length && line[i] is not ('{' or ' ')) i++;
        string name = line[..i];
        if (!MetricName().IsMatch(name)) throw new FormatException($"line {ln}: bad metric name '{name}'");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (i < line.Length && line[i] == '}') { i++; break; }
                int start = i;
                while (i < line.Length && line[i] != '=') i++;
                string label = line[start..i].Trim();
                if (!LabelName().IsMatch(label) || label.StartsWith("__", StringComparison.Ordinal))
                    throw new FormatException($"line {ln}: bad label name '{label}'");
                if (++i >= line.Length || line[i] != '"') throw new FormatException($"line {ln}: label value must be quoted");
                i++;
                var sb = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length) throw new FormatException($"line {ln}: unterminated label value");
                    char c = line[i++];
                    if (c == '"') break;
                    if (c == '\\')
                    {
                        if (i >= line.Length) throw new FormatException($"line {ln}: dangling escape");
                        char e = line[i++];
                        sb.Append(e switch { '\\' => '\\', '"' => '"', 'n' => '\n', _ => throw new FormatException($"line {ln}: bad escape \\{e}") });
                    }
                    else sb.Append(c);
                }
                if (!labels.TryAdd(label, sb.ToString())) throw new FormatException($"line {ln}: duplicate label {label}");
                if (i < line.Length && line[i] == ',') i++;
                else if (i < line.Length && line[i] == '}') { i++; break; }
                else throw new FormatException($"line {ln}: expected ',' or '}}' after label {label}");
            }
        }
        if (i >= line.Length || line[i] != ' ') throw new FormatException($"line {ln}: expected a space before the value");
        var rest = line[(i + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length is < 1 or > 2) throw new FormatException($"line {ln}: expected 'value [timestamp]'");
        double value = rest[0] switch
        {
            "NaN" => double.NaN,
            "+Inf" or "Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            _ => double.TryParse(rest[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                : throw new FormatException($"line {ln}: bad value '{rest[0]}'"),
        };
        long? ts = null;
        if (rest.Length == 2)
            ts = long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t) ? t
                : throw new FormatException($"line {ln}: bad timestamp '{rest[1]}'");
        return new Sample(name, labels, value, ts);
    }

    private static string Unescape(string s, bool help, int ln)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\') { sb.Append(s[i]); continue; }
            if (++i >= s.Length) throw new FormatException($"line {ln}: dangling escape");
            sb.Append(s[i] switch { '\\' => '\\', 'n' => '\n', _ when !help && s[i] == '"' => '"', _ => throw new FormatException($"line {ln}: bad escape") });
        }
        return sb.ToString();
    }
}
