using System.Reflection;

namespace Ttnoded;

/// <summary>The product version (from the repository's VERSION file, stamped at build).</summary>
public static class BuildInfo
{
    public static string Version { get; } =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
