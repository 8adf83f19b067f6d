using Ttnoded.Hardware;

namespace Ttnoded.Tests.Hardware;

public sealed class VersionTests
{
    private static FirmwareVersion F(string s) => FirmwareVersion.Parse(s);

    [Theory]
    [InlineData("80.17.0.0", "18.3.0")]     // legacy is older than every 18.x (UMD's view), although 80 > 18
    [InlineData("80.18.5.0", "18.0.0")]
    [InlineData("80.14.0.0", "80.15.0.0")]  // legacy among themselves: (b, c, d)
    [InlineData("18.2.0.0", "18.3.0")]
    [InlineData("18.3.0.0", "18.12.0")]     // numeric, not lexical
    [InlineData("18.12.0.0", "19.0.0.0")]
    [InlineData("19.4.2.0", "19.7.1")]
    public void Older_sorts_before_newer(string older, string newer)
    {
        Assert.True(F(older) < F(newer));
        Assert.True(F(newer) > F(older));
    }

    [Fact]
    public void Fourth_field_is_ignored_for_current_bundles()
    {
        Assert.Equal(0, F("19.4.2.0").CompareTo(F("19.4.2.7")));
        Assert.True(F("19.4.2.0") >= F("19.4.2"));
    }

    [Fact]
    public void Legacy_and_unset_are_recognised()
    {
        Assert.True(F("80.17.0.0").IsLegacy);
        Assert.Equal((17, 0, 0), F("80.17.0.0").Normalized);
        Assert.True(F("255.255.255.255").IsUnset);
        Assert.False(F("255.255.255.255").IsLegacy);
        Assert.Equal("fw_pack-19.4.2", F("fw_pack-19.4.2").Text);
        Assert.Equal((19, 4, 2), F("fw_pack-19.4.2").Normalized);
    }

    [Theory]
    [InlineData("")]
    [InlineData("19.4")]
    [InlineData("19.4.2.0.1")]
    [InlineData("19.x.2")]
    [InlineData("256.0.0.0")]
    public void Malformed_bundles_do_not_parse(string text) => Assert.False(FirmwareVersion.TryParse(text, out _));

    [Theory]
    [InlineData("2.10.1-pre", 2, 10, 1)]
    [InlineData("2.4.1", 2, 4, 1)]
    [InlineData("1.31", 1, 31, 0)]
    [InlineData("1.27.1", 1, 27, 1)]
    [InlineData("2.6.0+build5", 2, 6, 0)]
    public void Driver_versions_strip_suffixes(string text, int a, int b, int c) =>
        Assert.Equal(new DriverVersion(a, b, c), DriverVersion.Parse(text));

    [Fact]
    public void Driver_versions_compare_numerically()
    {
        Assert.True(DriverVersion.Parse("2.10.0") > DriverVersion.Parse("2.9.0"));
        Assert.True(DriverVersion.Parse("1.34") < DriverVersion.UmdFloor);
    }
}
