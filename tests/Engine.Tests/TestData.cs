namespace TtEngine.Tests;

/// <summary>Locates ../shared/models relative to the repository root (the directory holding BareMetal.sln).</summary>
internal static class TestData
{
    private static readonly Lazy<string> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "BareMetal.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("BareMetal.sln not found above " + AppContext.BaseDirectory);
    });

    public static string Model(params string[] parts) => Path.Combine([Root.Value, "..", "shared", "models", .. parts]);

    public static string Stories260K => Model("stories260K", "stories260K.gguf");

    public static string TempFile(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "ttengine-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, Guid.NewGuid().ToString("N") + "-" + name);
    }
}
