using System.Reflection;

namespace Ttctl;

public static class CliInfo
{
    public static string Version { get; } =
        typeof(CliInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
