using Ttnoded.Hardware;

namespace Ttnoded.Tests.Hardware;

public sealed class PrometheusTests
{
    private static Dictionary<string, PrometheusTextParser.Family> Metrics(NodeHardwareSnapshot s)
    {
        var w = new StringWriter();
        HardwarePrometheus.Write(w, s);
        return PrometheusTextParser.Parse(w.ToString());
    }

    private static double Value(Dictionary<string, PrometheusTextParser.Family> m, string name, params (string K, string V)[] labels) =>
        m[name].Samples.Single(s => labels.All(l => s.Labels.TryGetValue(l.K, out var v) && v == l.V)).Value;

    [Theory]
    [InlineData("n150")]
    [InlineData("loudbox")]
    [InlineData("p150")]
    [InlineData("not-published")]
    [InlineData("card-vanished")]
    [InlineData("driver-too-old")]
    public void Output_parses_as_the_text_format_and_follows_naming_conventions(string fixture)
    {
        using var t = new FixtureTree(fixture);
        var m = Metrics(t.ProbeTwice(t.Monitor()));
        Assert.All(m.Values, f =>
        {
            Assert.StartsWith("ttnoded_", f.Name);
            Assert.NotNull(f.Help);
            Assert.Contains(f.Type, (string[])["gauge", "counter"]);
            Assert.Equal(f.Type == "counter", f.Name.EndsWith("_total", StringComparison.Ordinal));
            Assert.DoesNotContain("milli", f.Name);   // base units only
        });
    }

    [Fact]
    public void Loudbox_card_gauges_carry_si_values_and_identity_labels()
    {
        using var t = new FixtureTree("loudbox");
        var m = Metrics(t.ProbeTwice(t.Monitor()));
        Assert.Equal(4, m["ttnoded_card_temperature_celsius"].Samples.Count);
        Assert.Equal(45.25, Value(m, "ttnoded_card_temperature_celsius", ("card", "2"), ("bdf", "0000:84:00.0"), ("serial", "0100014511800003")));
        Assert.Equal(14, Value(m, "ttnoded_card_power_watts", ("card", "0")));
        Assert.Equal(500e6, Value(m, "ttnoded_card_clock_hertz", ("card", "1"), ("clock", "aiclk")));
        Assert.Equal(1, Value(m, "ttnoded_card_heartbeat_alive", ("card", "3")));
        Assert.Equal(2, Value(m, "ttnoded_card_chips", ("card", "3")));
        Assert.Equal(1, Value(m, "ttnoded_card_state", ("card", "0"), ("state", "usable")));
        Assert.Equal(0, Value(m, "ttnoded_card_state", ("card", "0"), ("state", "missing")));
        Assert.Equal(1, Value(m, "ttnoded_card_info", ("card", "0"), ("board_type", "n300"), ("fw_bundle", "19.4.2.0")));
        Assert.Equal(8, Value(m, "ttnoded_node_chips"));
        Assert.Equal(4, Value(m, "ttnoded_node_boards"));
        Assert.Equal(1, Value(m, "ttnoded_host_check_status", ("check", "hugepages"), ("status", "ok")));
        Assert.Equal(0, Value(m, "ttnoded_host_check_status", ("check", "hugepages"), ("status", "fail")));
        Assert.Equal(0, Value(m, "ttnoded_node_degraded"));
        Assert.Empty(m["ttnoded_card_fan_rpm"].Samples);
    }

    [Fact]
    public void Unpublished_values_are_left_out_not_zero()
    {
        using var t = new FixtureTree("not-published");
        var m = Metrics(t.Monitor().Probe());
        Assert.Empty(m["ttnoded_card_temperature_celsius"].Samples);
        Assert.Empty(m["ttnoded_card_power_watts"].Samples);
        Assert.Empty(m["ttnoded_card_clock_hertz"].Samples);
        Assert.Equal(1, Value(m, "ttnoded_card_state", ("state", "not-ready")));
        Assert.True(Value(m, "ttnoded_card_telemetry_unavailable") > 0);
        Assert.Equal(1, Value(m, "ttnoded_host_check_status", ("check", "telemetry"), ("status", "warn")));
    }

    [Fact]
    public void Blackhole_exports_fan_and_thermal_trip_counter()
    {
        using var t = new FixtureTree("p150");
        var m = Metrics(t.ProbeTwice(t.Monitor()));
        Assert.Equal(2100, Value(m, "ttnoded_card_fan_rpm"));
        Assert.Equal("counter", m["ttnoded_card_thermal_trips_total"].Type);
        Assert.Equal(0, Value(m, "ttnoded_card_thermal_trips_total"));
    }

    [Fact]
    public void Label_values_are_escaped()
    {
        using var t = new FixtureTree("n150");
        t.Write(t.Class(0) + "/tt_fw_bundle_ver", "weird\"\\value");
        var m = Metrics(t.Monitor().Probe());
        Assert.Equal(1, Value(m, "ttnoded_card_info", ("fw_bundle", "weird\"\\value")));
    }

    [Theory]
    [InlineData("a 1")]                                      // no trailing newline
    [InlineData("# TYPE a gauge\n# TYPE a gauge\n")]
    [InlineData("a 1\nb 1\na 2\n")]                          // not contiguous
    [InlineData("a{x=\"1\"} 1\na{x=\"1\"} 2\n")]             // duplicate series
    [InlineData("a{x=1} 1\n")]                               // unquoted
    [InlineData("a{x=\"\\t\"} 1\n")]                         // bad escape
    [InlineData("1a 1\n")]
    [InlineData("a one\n")]
    [InlineData("a 1\n# TYPE a gauge\n")]                    // TYPE after samples
    public void Parser_rejects_malformed_text(string text) =>
        Assert.Throws<FormatException>(() => PrometheusTextParser.Parse(text));

    [Fact]
    public void Parser_accepts_spec_examples()
    {
        const string text = "# HELP http_requests_total The total number of HTTP requests.\n# TYPE http_requests_total counter\n" +
            "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\nhttp_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n" +
            "\n# Escaping in label values:\nmsdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n" +
            "metric_without_timestamp_and_labels 12.47\nsomething_weird{problem=\"division by zero\"} +Inf -3982045\n" +
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 5\nh_count 3\n";
        var m = PrometheusTextParser.Parse(text);
        Assert.Equal(2, m["http_requests_total"].Samples.Count);
        Assert.Equal("C:\\DIR\\FILE.TXT", m["msdos_file_access_time_seconds"].Samples[0].Labels["path"]);
        Assert.Equal(double.PositiveInfinity, m["something_weird"].Samples[0].Value);
        Assert.Equal(3, m["h"].Samples.Count);
    }
}
