using System.Text;
using Ttnoded.Config;

namespace Ttnoded.Tests.Config;

public sealed class ConfigLoaderTests
{
    private static DaemonConfig Parse(string json) => ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "test.json");

    [Fact]
    public void Missing_file_means_defaults()
    {
        var c = ConfigLoader.Load("/nonexistent/ttnoded.json");
        Assert.Equal("ttnode", c.SocketGroup);
        Assert.Equal("strict", c.Trust.Policy);
    }

    [Fact]
    public void Known_keys_are_applied()
    {
        var c = Parse("""{ "socketGroup": "g", "trust": { "policy": "warn", "keysDir": "/k" }, "jobs": { "maxRunning": 2 } }""");
        Assert.Equal("g", c.SocketGroup);
        Assert.Equal("warn", c.Trust.Policy);
        Assert.Equal("/k", c.Trust.KeysDir);
        Assert.Equal(2, c.Jobs.MaxRunning);
    }

    [Fact]
    public void Every_bad_key_is_named_in_one_error()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("""{ "sockt": "/x", "jobs": { "maxRunning": 0, "onRestart": "retry" }, "trust": 5 }"""));
        Assert.Contains("key 'sockt': unknown key", e.Message);
        Assert.Contains("key 'jobs.maxRunning': 0 is outside 1..256", e.Message);
        Assert.Contains("key 'jobs.onRestart': expected one of requeue|fail, got \"retry\"", e.Message);
        Assert.Contains("key 'trust': expected an object", e.Message);
    }

    [Fact]
    public void Invalid_json_names_the_line()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("{\n  \"socket\": \n}"));
        Assert.Contains("line 3", e.Message);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    public void Top_level_must_be_an_object(string json) =>
        Assert.Throws<ConfigException>(() => Parse(json));
}
