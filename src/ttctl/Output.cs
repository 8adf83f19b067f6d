using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Ttctl;

/// <summary>Tables and JSON on stdout.</summary>
public static class Output
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    public static void Json<T>(T value, JsonTypeInfo<T> type)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, Indented)) JsonSerializer.Serialize(w, value, type);
        stdout.Write("\n"u8);
    }

    /// <summary>A plain aligned table (no colour: it is read by people and by grep alike).</summary>
    public static void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { headers };
        all.AddRange(rows);
        var widths = new int[headers.Count];
        foreach (var r in all)
            for (int i = 0; i < widths.Length && i < r.Count; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        var sb = new StringBuilder();
        foreach (var r in all)
        {
            for (int i = 0; i < widths.Length; i++)
            {
                string cell = i < r.Count ? r[i] : "";
                sb.Append(i == widths.Length - 1 ? cell : cell.PadRight(widths[i] + 2));
            }
            sb.Append('\n');
        }
        Console.Out.Write(sb.ToString());
    }

    /// <summary>Key: value lines.</summary>
    public static void Fields(IEnumerable<(string Key, string Value)> fields)
    {
        var list = fields.ToList();
        int w = list.Count == 0 ? 0 : list.Max(f => f.Key.Length);
        foreach (var (k, v) in list) Console.Out.WriteLine($"{(k + ":").PadRight(w + 2)}{v}");
    }
}
