using TtProtocol.Hardware;

namespace Ttnoded.Hardware;

/// <summary>How a model's requirement is enforced (tt-inference-server's STRICT / SUGGESTED).</summary>
public enum RequirementLevel
{
    /// <summary>Unmet → refuse to run.</summary>
    Strict,
    /// <summary>Unmet → run with a warning.</summary>
    Suggested,
}

/// <summary>A model's firmware/driver requirement, e.g. fw ≥ 18.8.0 and KMD ≥ 2.2.0, SUGGESTED.</summary>
/// <param name="MinBundle">Minimum firmware bundle, null = none beyond the architecture minimum.</param>
/// <param name="MinDriver">Minimum tt-kmd, null = none beyond the UMD floor.</param>
/// <param name="Level">STRICT or SUGGESTED.</param>
public sealed record FirmwareRequirement(FirmwareVersion? MinBundle, DriverVersion? MinDriver, RequirementLevel Level);

/// <summary>Outcome of <see cref="FirmwarePolicy.Evaluate"/>.</summary>
public enum PolicyVerdict
{
    /// <summary>Everything met.</summary>
    Satisfied,
    /// <summary>A SUGGESTED requirement is unmet: run, but tell the operator.</summary>
    Warn,
    /// <summary>Refuse to run.</summary>
    Refuse,
}

/// <summary>Verdict plus one line per finding.</summary>
/// <param name="Verdict">Worst finding.</param>
/// <param name="Findings">What was unmet, one line each.</param>
public sealed record FirmwarePolicyResult(PolicyVerdict Verdict, IReadOnlyList<string> Findings)
{
    /// <summary>True unless refused.</summary>
    public bool Allowed => Verdict != PolicyVerdict.Refuse;
}

/// <summary>
/// Firmware policy used by the model store before it places a model on cards. Hard limits refuse whatever
/// the level (UMD itself would throw): bundle below the architecture minimum (legacy 80.x included),
/// bundles differing between the selected cards, KMD below 2.0.0. The model's own minimums refuse when
/// STRICT and warn when SUGGESTED. Versions compare as (major, minor, patch) with legacy 80.x older than
/// 18.x, not as PEP 440 strings (which would let "80.17.0.0" pass "≥ 19.2.0").
/// </summary>
public static class FirmwarePolicy
{
    /// <summary>Evaluates a requirement against the node (or the given subset of card identities).</summary>
    public static FirmwarePolicyResult Evaluate(FirmwareRequirement requirements, NodeHardwareSnapshot node,
        IReadOnlyCollection<string>? cardIdentities = null, HardwareOptions? options = null)
    {
        options ??= new HardwareOptions();
        var hard = new List<string>();
        var soft = new List<string>();
        var model = requirements.Level == RequirementLevel.Strict ? hard : soft;

        if (!DriverVersion.TryParse(node.DriverVersion, out var kmd))
            hard.Add(node.DriverVersion is null ? "tt-kmd not loaded" : $"tt-kmd version '{node.DriverVersion}' unreadable");
        else
        {
            if (kmd < options.MinDriver) hard.Add($"tt-kmd {kmd} < {options.MinDriver} (UMD floor)");
            if (requirements.MinDriver is DriverVersion want && kmd < want) model.Add($"tt-kmd {kmd} < model minimum {want}");
        }

        var cards = node.Cards.Where(c => c.State is not (CardState.Missing or CardState.Unbound)
                                          && (cardIdentities is null || cardIdentities.Contains(c.Identity))).ToList();
        if (cards.Count == 0) hard.Add("no usable card selected");
        var bundles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in cards)
        {
            string label = c.Index is int n ? $"card {n}" : c.Identity;
            if (!FirmwareVersion.TryParse(c.Firmware.Bundle, out var v) || v.IsUnset)
            {
                model.Add($"{label}: firmware bundle unknown (not yet published); cannot verify");
                continue;
            }
            bundles.Add(v.Text);
            var min = HostChecks.MinimumFor(c.Arch, options);
            if (v < min) hard.Add($"{label}: bundle {v} < {c.Arch} minimum {min}" + (v.IsLegacy ? " (legacy 80.x is older than 18.x)" : ""));
            else if (requirements.MinBundle is { } want && v < want) model.Add($"{label}: bundle {v} < model minimum {want}");
        }
        if (bundles.Count > 1) hard.Add($"cards carry different bundles ({string.Join(", ", bundles.Order(StringComparer.Ordinal))})");

        var verdict = hard.Count > 0 ? PolicyVerdict.Refuse : soft.Count > 0 ? PolicyVerdict.Warn : PolicyVerdict.Satisfied;
        return new FirmwarePolicyResult(verdict, [.. hard, .. soft]);
    }
}
