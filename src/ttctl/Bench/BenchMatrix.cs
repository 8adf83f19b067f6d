namespace Ttctl.Bench;

/// <summary>
/// The recommendation matrix: three use cases, each with the shape that stands for it and the service level it needs.
/// For each, the largest measured concurrency whose cell meets the target (docs/openai.md, "ttctl bench").
/// </summary>
internal static class BenchMatrix
{
    private sealed record UseCase(string Name, string Shape, string Target, Func<BenchCell, bool> Meets, Func<IReadOnlyList<BenchCell>, (int Isl, int Osl)> Pick);

    private static readonly UseCase[] Cases =
    [
        new("interactive chat", "short prompt, short answer (ISL≈128, OSL≈128)", "TTFT p99 ≤ 1 s, ≥ 10 tok/s per user",
            c => c.TtftP99Ms <= 1000 && c.TpotP50Ms <= 100,
            cells => Nearest(cells, 128, 128)),
        new("RAG", "long prompt, short answer (largest ISL, OSL≈128)", "TTFT p99 ≤ 3 s, ≥ 10 tok/s per user",
            c => c.TtftP99Ms <= 3000 && c.TpotP50Ms <= 100,
            cells => cells.OrderByDescending(c => c.Isl).ThenBy(c => Math.Abs(c.Osl - 128)).Select(c => (c.Isl, c.Osl)).First()),
        new("long-form", "short prompt, long answer (ISL≈128, largest OSL)", "≥ 10 tok/s per user, TTFT p99 ≤ 5 s",
            c => c.TpotP50Ms <= 100 && c.TtftP99Ms <= 5000,
            cells => cells.OrderByDescending(c => c.Osl).ThenBy(c => Math.Abs(c.Isl - 128)).Select(c => (c.Isl, c.Osl)).First()),
    ];

    public static List<BenchRecommendation> Fill(IReadOnlyList<BenchCell> cells)
    {
        var result = new List<BenchRecommendation>();
        var measured = cells.Where(c => c.Requests > c.Errors).ToList();
        foreach (var u in Cases)
        {
            if (measured.Count == 0)
            {
                result.Add(new BenchRecommendation { UseCase = u.Name, Shape = u.Shape, Target = u.Target, Note = "no successful cell" });
                continue;
            }
            var (isl, osl) = u.Pick(measured);
            var shape = measured.Where(c => c.Isl == isl && c.Osl == osl).OrderBy(c => c.Concurrency).ToList();
            var best = shape.Where(c => c.Errors == 0 && u.Meets(c)).MaxBy(c => c.Concurrency);
            var shown = best ?? shape[0];
            result.Add(new BenchRecommendation
            {
                UseCase = u.Name, Shape = u.Shape, Target = u.Target, Isl = isl, Osl = osl, MaxConcurrency = best?.Concurrency,
                TtftP99Ms = shown.TtftP99Ms, TpotP50Ms = shown.TpotP50Ms, OutputTokPerSec = shown.OutputTokPerSec,
                Note = best is null ? $"target not met even at concurrency {shown.Concurrency}" : $"up to {best.Concurrency} concurrent users",
            });
        }
        return result;
    }

    private static (int, int) Nearest(IReadOnlyList<BenchCell> cells, int isl, int osl) =>
        cells.OrderBy(c => Math.Abs(Math.Log((double)c.Isl / isl)) + Math.Abs(Math.Log((double)c.Osl / osl))).Select(c => (c.Isl, c.Osl)).First();
}
