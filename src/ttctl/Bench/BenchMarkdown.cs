using System.Globalization;
using System.Text;

namespace Ttctl.Bench;

/// <summary>The human report: the cell table and the recommendation matrix, as Markdown (stdout and -o).</summary>
internal static class BenchMarkdown
{
    public static string Render(BenchReport r)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"# ttctl bench: {r.Model}\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"Started {r.StartedAt:u}; {r.DurationPerCellSeconds:0.#} s per cell; context {(r.ContextLength?.ToString(CultureInfo.InvariantCulture) ?? "unknown")} tokens.\n");
        sb.Append(r.Method).Append("\n\n");
        foreach (var n in r.Notes) sb.Append("- ").Append(n).Append('\n');
        if (r.Notes.Count > 0) sb.Append('\n');
        sb.Append("| conc | ISL | OSL | reqs | errors | TTFT p50 ms | TTFT p99 ms | TPOT p50 ms | TPOT p99 ms | prefill tok/s | output tok/s | tok/s/user | req/s |\n");
        sb.Append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var c in r.Cells)
        {
            string isl = c.Capped && c.Isl != c.IslRequested ? $"{c.Isl} ({c.IslRequested}*)" : c.Isl.ToString(CultureInfo.InvariantCulture);
            string osl = c.Capped && c.Osl != c.OslRequested ? $"{c.Osl} ({c.OslRequested}*)" : c.Osl.ToString(CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture,
                $"| {c.Concurrency} | {isl} | {osl} | {c.Requests} | {c.Errors} | {c.TtftP50Ms:0.0} | {c.TtftP99Ms:0.0} | {c.TpotP50Ms:0.00} | {c.TpotP99Ms:0.00} | {c.PrefillTokPerSec:0} | {c.OutputTokPerSec:0.0} | {c.TokPerSecPerUser:0.0} | {c.RequestsPerSec:0.00} |\n");
        }
        if (r.Cells.Any(c => c.Capped)) sb.Append("\n\\* asked-for length, capped so that ISL + OSL fits the model's context.\n");
        foreach (var c in r.Cells.Where(c => c.FirstError is not null))
            sb.Append(CultureInfo.InvariantCulture, $"\nconcurrency {c.Concurrency}, ISL {c.Isl}, OSL {c.Osl}: first error: {c.FirstError}\n");

        sb.Append("\n## Recommendation matrix (this node)\n\n");
        sb.Append("| use case | shape | target | measured at ISL/OSL | max concurrency meeting target | TTFT p99 ms | TPOT p50 ms | output tok/s |\n");
        sb.Append("|---|---|---|---|---:|---:|---:|---:|\n");
        foreach (var m in r.Recommendations)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"| {m.UseCase} | {m.Shape} | {m.Target} | {m.Isl}/{m.Osl} | {(m.MaxConcurrency?.ToString(CultureInfo.InvariantCulture) ?? "none")} | {m.TtftP99Ms:0.0} | {m.TpotP50Ms:0.00} | {m.OutputTokPerSec:0.0} |\n");
        }
        return sb.ToString();
    }
}
