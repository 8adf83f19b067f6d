using TestSupport;

namespace Ttctl.Tests;

public sealed class DaemonUnreachableTests
{
    [Fact]
    public async Task Missing_socket_gives_exit_69_and_one_clear_line()
    {
        string sock = Path.Combine(Path.GetTempPath(), $"ttctl-missing-{Guid.NewGuid():N}.sock");
        var (code, stdout, stderr) = await Binaries.RunAsync("ttctl", "--socket", sock, "node", "status");
        Assert.Equal(69, code);
        Assert.Equal($"ttctl: cannot reach ttnoded at {sock}: is the service running?", stderr.Trim());
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task Socket_comes_from_TTCTL_SOCKET_when_not_given()
    {
        string sock = Path.Combine(Path.GetTempPath(), $"ttctl-env-{Guid.NewGuid():N}.sock");
        var psi = Binaries.StartInfo("ttctl", ["version"]);
        psi.Environment["TTCTL_SOCKET"] = sock;
        var (code, _, stderr) = await Binaries.RunAsync(psi);
        Assert.Equal(69, code);
        Assert.Contains(sock, stderr);
    }

    [Fact]
    public async Task Unknown_command_is_a_usage_error()
    {
        var (code, _, stderr) = await Binaries.RunAsync("ttctl", "frobnicate");
        Assert.NotEqual(0, code);
        Assert.Contains("frobnicate", stderr);
    }
}
