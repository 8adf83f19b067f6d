using Ttnoded.Hardware;

namespace Ttnoded.Tests.Hardware;

public sealed class FirmwarePolicyTests
{
    private static FirmwareRequirement Req(string? fw, string? kmd, RequirementLevel level) =>
        new(fw is null ? null : FirmwareVersion.Parse(fw), kmd is null ? null : DriverVersion.Parse(kmd), level);

    [Fact]
    public void Met_requirements_are_satisfied()
    {
        using var t = new FixtureTree("loudbox");
        var r = FirmwarePolicy.Evaluate(Req("18.8.0", "2.2.0", RequirementLevel.Strict), t.Monitor().Probe());
        Assert.Equal(PolicyVerdict.Satisfied, r.Verdict);
        Assert.True(r.Allowed);
        Assert.Empty(r.Findings);
    }

    [Fact]
    public void Strict_model_minimum_refuses_and_suggested_warns()
    {
        using var t = new FixtureTree("loudbox");
        var s = t.Monitor().Probe();
        var strict = FirmwarePolicy.Evaluate(Req("19.5.0", "2.5.0", RequirementLevel.Strict), s);
        Assert.Equal(PolicyVerdict.Refuse, strict.Verdict);
        Assert.Contains(strict.Findings, f => f.Contains("model minimum 19.5.0"));
        Assert.Contains(strict.Findings, f => f.Contains("tt-kmd 2.4.1 < model minimum 2.5.0"));
        var suggested = FirmwarePolicy.Evaluate(Req("19.5.0", "2.5.0", RequirementLevel.Suggested), s);
        Assert.Equal(PolicyVerdict.Warn, suggested.Verdict);
        Assert.True(suggested.Allowed);
    }

    [Fact]
    public void Legacy_bundle_never_satisfies_a_19x_minimum_unlike_pep440()
    {
        using var t = new FixtureTree("old-firmware");
        var r = FirmwarePolicy.Evaluate(Req("19.2.0", null, RequirementLevel.Suggested), t.Monitor().Probe());
        Assert.Equal(PolicyVerdict.Refuse, r.Verdict);   // below the arch minimum refuses whatever the level
        Assert.Contains(r.Findings, f => f.Contains("legacy 80.x"));
    }

    [Fact]
    public void Mixed_bundles_refuse_but_a_uniform_subset_is_fine()
    {
        using var t = new FixtureTree("mixed-firmware");
        var s = t.Monitor().Probe();
        Assert.Equal(PolicyVerdict.Refuse, FirmwarePolicy.Evaluate(Req(null, null, RequirementLevel.Suggested), s).Verdict);
        var subset = s.Cards.Where(c => c.Index is 0 or 1).Select(c => c.Identity).ToList();
        Assert.Equal(PolicyVerdict.Satisfied, FirmwarePolicy.Evaluate(Req("18.8.0", null, RequirementLevel.Strict), s, subset).Verdict);
    }

    [Fact]
    public void Unknown_bundle_refuses_strict_and_warns_suggested()
    {
        using var t = new FixtureTree("not-published");
        var s = t.Monitor().Probe();
        Assert.Equal(PolicyVerdict.Refuse, FirmwarePolicy.Evaluate(Req("18.3.0", null, RequirementLevel.Strict), s).Verdict);
        Assert.Equal(PolicyVerdict.Warn, FirmwarePolicy.Evaluate(Req("18.3.0", null, RequirementLevel.Suggested), s).Verdict);
    }

    [Fact]
    public void Driver_below_umd_floor_refuses()
    {
        using var t = new FixtureTree("driver-too-old");
        var r = t.Monitor().EvaluateFirmware(Req(null, null, RequirementLevel.Suggested));
        Assert.Equal(PolicyVerdict.Refuse, r.Verdict);
        Assert.Contains(r.Findings, f => f.Contains("UMD floor"));
    }
}
