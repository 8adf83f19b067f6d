namespace TestSupport;

/// <summary>Where the repository, its fixtures, ../shared and the built binaries are, from a test's point of view.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>../shared beside the checkout (models, tokenizer data, docs).</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    public static string SharedModels => Path.Combine(Shared, "models");

    public static string Fixtures => Path.Combine(Root, "tests", "fixtures");

    /// <summary>The AOT binaries published by scripts/test (artifacts/bin), or TT_BIN_DIR.</summary>
    public static string BinDir => Environment.GetEnvironmentVariable("TT_BIN_DIR") is { Length: > 0 } d ? d : Path.Combine(Root, "artifacts", "bin");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BareMetal.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("BareMetal.sln not found above " + AppContext.BaseDirectory);
    }
}
