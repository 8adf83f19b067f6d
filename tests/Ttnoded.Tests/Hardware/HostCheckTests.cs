using TtProtocol.Hardware;
using Ttnoded.Hardware;

namespace Ttnoded.Tests.Hardware;

/// <summary>Every host check's ok / warn / fail path, plus the failure fixtures naming the right check.</summary>
public sealed class HostCheckTests
{
    private static HostCheckResult Check(FixtureTree t, string name, HardwareOptions? o = null) =>
        t.ProbeTwice(t.Monitor(o)).Checks.Single(c => c.Name == name);

    private static void AssertStatus(CheckStatus want, HostCheckResult got, string? observedContains = null)
    {
        Assert.True(want == got.Status, $"{got.Name}: expected {want}, got {got.Status}: {got.Observed}");
        if (observedContains is not null) Assert.Contains(observedContains, got.Observed);
        if (want == CheckStatus.Ok) Assert.Equal("", got.Fix);
        else Assert.False(string.IsNullOrWhiteSpace(got.Fix));
        Assert.DoesNotContain('\n', got.Observed + got.Fix);
    }

    [Theory]
    [InlineData("n150")]
    [InlineData("n300")]
    [InlineData("loudbox")]
    [InlineData("p150")]
    public void Healthy_fixtures_pass_every_check(string fixture)
    {
        using var t = new FixtureTree(fixture);
        var s = t.ProbeTwice(t.Monitor());
        Assert.All(s.Checks, c => Assert.True(c.Status == CheckStatus.Ok, $"{c.Name}: {c.Status} {c.Observed}"));
        Assert.Equal("ok", s.Health);
        Assert.Equal(13, s.Checks.Count);
    }

    [Theory]
    [InlineData("no-hugepages", "hugepages")]
    [InlineData("no-hugepages", "hugepages-mount")]
    [InlineData("old-firmware", "firmware-minimum")]
    [InlineData("mixed-firmware", "firmware-consistency")]
    [InlineData("driver-too-old", "driver")]
    [InlineData("card-vanished", "cards")]
    public void Failure_fixtures_fail_the_right_check(string fixture, string check)
    {
        using var t = new FixtureTree(fixture);
        var s = t.ProbeTwice(t.Monitor());
        AssertStatus(CheckStatus.Fail, s.Checks.Single(c => c.Name == check));
        Assert.Equal(CheckStatus.Fail, s.Overall);
        Assert.Equal("degraded", s.Health);
    }

    [Fact]
    public void Not_published_fixture_warns_then_fails_after_the_grace_period()
    {
        using var t = new FixtureTree("not-published");
        var m = t.Monitor();
        var s = m.Probe();
        AssertStatus(CheckStatus.Warn, s.Checks.Single(c => c.Name == "telemetry"), "not yet available");
        Assert.DoesNotContain(s.Checks, c => c.Status == CheckStatus.Fail);
        t.Time.Advance(TimeSpan.FromSeconds(151));
        AssertStatus(CheckStatus.Fail, m.Probe().Checks.Single(c => c.Name == "telemetry"), "still missing");
    }

    // ---- driver ----
    [Fact] public void Driver_ok() { using var t = new FixtureTree("n150"); AssertStatus(CheckStatus.Ok, Check(t, "driver"), "2.4.1"); }
    [Fact]
    public void Driver_warn_below_recommended()
    {
        using var t = new FixtureTree("n150");
        t.Write("sys/module/tenstorrent/version", "2.2.0");
        AssertStatus(CheckStatus.Warn, Check(t, "driver"), "2.2.0");
    }
    [Fact]
    public void Driver_fail_not_loaded()
    {
        using var t = new FixtureTree("n150");
        t.Delete("sys/module/tenstorrent");
        AssertStatus(CheckStatus.Fail, Check(t, "driver"), "not loaded");
    }
    [Fact]
    public void Driver_fail_too_old_with_suffix_parsing()
    {
        using var t = new FixtureTree("n150");
        t.Write("sys/module/tenstorrent/version", "1.99.9-pre");
        AssertStatus(CheckStatus.Fail, Check(t, "driver"), "< minimum 2.0.0");
    }

    // ---- cards ----
    [Fact] public void Cards_ok() { using var t = new FixtureTree("loudbox"); AssertStatus(CheckStatus.Ok, Check(t, "cards"), "4 PCI"); }
    [Fact]
    public void Cards_warn_unbound_function_next_to_a_good_one()
    {
        using var t = new FixtureTree("n150");
        var p = "sys/devices/pci0000:00/0000:00:01.2/0000:02:00.0";
        t.Write(p + "/vendor", "0x1e52");
        t.Write(p + "/device", "0xfaca");
        File.CreateSymbolicLink(t.P("sys/bus/pci/devices/0000:02:00.0"), "../../../devices/pci0000:00/0000:00:01.2/0000:02:00.0");
        AssertStatus(CheckStatus.Warn, Check(t, "cards"), "Grayskull");
    }
    [Fact]
    public void Cards_fail_none_found()
    {
        using var t = new FixtureTree("n150");
        t.Delete("sys/bus/pci/devices/0000:01:00.0");
        t.Delete("dev/tenstorrent");
        AssertStatus(CheckStatus.Fail, Check(t, "cards"), "no Tenstorrent");
    }

    // ---- iommu ----
    [Fact] public void Iommu_ok_passthrough() { using var t = new FixtureTree("n150"); AssertStatus(CheckStatus.Ok, Check(t, "iommu"), "identity×1; cmdline iommu=pt"); }
    [Fact]
    public void Iommu_warn_mixed_modes()
    {
        using var t = new FixtureTree("loudbox");
        t.Write("sys/kernel/iommu_groups/20/type", "DMA-FQ");
        AssertStatus(CheckStatus.Warn, Check(t, "iommu"), "mixed");
    }
    [Fact]
    public void Iommu_fail_blocked_domain()
    {
        using var t = new FixtureTree("n150");
        t.Write("sys/kernel/iommu_groups/7/type", "blocked");
        AssertStatus(CheckStatus.Fail, Check(t, "iommu"), "blocked");
    }

    // ---- hugepages ----
    [Fact] public void Hugepages_ok_provisioned() { using var t = new FixtureTree("loudbox"); AssertStatus(CheckStatus.Ok, Check(t, "hugepages"), "nr_hugepages=16"); }
    [Fact]
    public void Hugepages_ok_without_pages_under_dma_translation()
    {
        using var t = new FixtureTree("no-hugepages");
        t.Write("sys/kernel/iommu_groups/7/type", "DMA");
        AssertStatus(CheckStatus.Ok, Check(t, "hugepages"), "not required");
        AssertStatus(CheckStatus.Ok, Check(t, "hugepages-mount"), "not required");
    }
    [Fact]
    public void Hugepages_warn_below_four_per_device()
    {
        using var t = new FixtureTree("loudbox");
        t.Write("sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "8");
        AssertStatus(CheckStatus.Warn, Check(t, "hugepages"), "nr_hugepages=8");
    }
    [Fact]
    public void Hugepages_warn_pages_on_the_wrong_numa_node()
    {
        using var t = new FixtureTree("loudbox");
        t.Write("sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages", "16");
        t.Write("sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages", "0");
        AssertStatus(CheckStatus.Warn, Check(t, "hugepages"), "NUMA node 1");
    }
    [Fact]
    public void Hugepages_fail_fewer_than_devices()
    {
        using var t = new FixtureTree("loudbox");
        t.Write("sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "3");
        AssertStatus(CheckStatus.Fail, Check(t, "hugepages"), "needs ≥ 4");
    }

    // ---- hugepages mount ----
    [Fact] public void Mount_ok() { using var t = new FixtureTree("n150"); AssertStatus(CheckStatus.Ok, Check(t, "hugepages-mount"), "pagesize=1024M"); }
    [Fact]
    public void Mount_ok_any_option_order_and_1G_spelling()
    {
        using var t = new FixtureTree("n150");
        t.Write("proc/mounts", "nodev /dev/hugepages-1G hugetlbfs pagesize=1G,mode=0777,rw 0 0");
        AssertStatus(CheckStatus.Ok, Check(t, "hugepages-mount"));
    }
    [Fact]
    public void Mount_warn_not_world_writable()
    {
        using var t = new FixtureTree("n150");
        t.Write("proc/mounts", "hugetlbfs /dev/hugepages-1G hugetlbfs rw,relatime,pagesize=1024M 0 0");
        AssertStatus(CheckStatus.Warn, Check(t, "hugepages-mount"), "mode=");
    }
    [Fact]
    public void Mount_fail_only_2M_mount()
    {
        using var t = new FixtureTree("n150");
        t.Write("proc/mounts", "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0");
        AssertStatus(CheckStatus.Fail, Check(t, "hugepages-mount"), "no hugetlbfs");
    }
    [Fact]
    public void Mount_fail_1G_mount_in_the_wrong_place()
    {
        using var t = new FixtureTree("n150");
        t.Write("proc/mounts", "hugetlbfs /mnt/huge hugetlbfs rw,pagesize=1024M,mode=777 0 0");
        AssertStatus(CheckStatus.Fail, Check(t, "hugepages-mount"), "/mnt/huge");
    }

    // ---- memlock ----
    private static void Memlock(FixtureTree t, string soft, string hard) =>
        t.Write("proc/self/limits", $"Limit                     Soft Limit           Hard Limit           Units     \nMax locked memory         {soft,-20} {hard,-20} bytes     ");
    [Fact] public void Memlock_ok_unlimited() { using var t = new FixtureTree("n150"); AssertStatus(CheckStatus.Ok, Check(t, "memlock"), "unlimited"); }
    [Fact]
    public void Memlock_warn_soft_low_hard_high()
    {
        using var t = new FixtureTree("n150");
        Memlock(t, "8388608", "unlimited");
        AssertStatus(CheckStatus.Warn, Check(t, "memlock"), "soft=8 MiB");
    }
    [Fact]
    public void Memlock_fail_hard_low()
    {
        using var t = new FixtureTree("n150");
        Memlock(t, "8388608", "8388608");
        AssertStatus(CheckStatus.Fail, Check(t, "memlock"), "hard=8 MiB");
    }

    // ---- firmware consistency ----
    [Fact] public void Same_bundle_ok() { using var t = new FixtureTree("loudbox"); AssertStatus(CheckStatus.Ok, Check(t, "firmware-consistency"), "19.4.2.0 on all 4"); }
    [Fact]
    public void Same_bundle_warn_when_one_is_unpublished()
    {
        using var t = new FixtureTree("loudbox");
        t.Delete(t.Class(1) + "/tt_fw_bundle_ver");
        AssertStatus(CheckStatus.Warn, Check(t, "firmware-consistency"), "1 card(s)");
    }
    [Fact]
    public void Same_bundle_fail_names_both_bundles()
    {
        using var t = new FixtureTree("mixed-firmware");
        AssertStatus(CheckStatus.Fail, Check(t, "firmware-consistency"), "18.7.0.0 on card 2");
    }

    // ---- firmware minimum ----
    [Fact] public void Minimum_ok() { using var t = new FixtureTree("p150"); AssertStatus(CheckStatus.Ok, Check(t, "firmware-minimum")); }
    [Fact]
    public void Minimum_warn_unset_bundle()
    {
        using var t = new FixtureTree("n150");
        t.Write(t.Class(0) + "/tt_fw_bundle_ver", "255.255.255.255");
        AssertStatus(CheckStatus.Warn, Check(t, "firmware-minimum"), "unset");
    }
    [Fact]
    public void Minimum_warn_newer_than_tested()
    {
        using var t = new FixtureTree("n150");
        t.Write(t.Class(0) + "/tt_fw_bundle_ver", "19.8.0.0");
        AssertStatus(CheckStatus.Warn, Check(t, "firmware-minimum"), "newer than latest tested");
    }
    [Fact]
    public void Minimum_fail_legacy_80x_is_older_than_18x()
    {
        using var t = new FixtureTree("old-firmware");
        AssertStatus(CheckStatus.Fail, Check(t, "firmware-minimum"), "legacy bundle 80.17.0.0");
    }
    [Fact]
    public void Minimum_fail_blackhole_below_18_5()
    {
        using var t = new FixtureTree("p150");
        t.Write(t.Class(0) + "/tt_fw_bundle_ver", "18.4.0.0");
        AssertStatus(CheckStatus.Fail, Check(t, "firmware-minimum"), "blackhole minimum 18.5.0");
    }

    // ---- holders ----
    [Fact] public void Holders_ok() { using var t = new FixtureTree("loudbox"); AssertStatus(CheckStatus.Ok, Check(t, "holders")); }
    [Fact]
    public void Holders_warn_some_cards_held()
    {
        using var t = new FixtureTree("loudbox");
        t.Write("proc/driver/tenstorrent/1/pids", "777");
        t.Write("proc/777/comm", "tt-smi");
        AssertStatus(CheckStatus.Warn, Check(t, "holders"), "1/4 card(s)");
    }
    [Fact]
    public void Holders_warn_when_driver_has_no_pids_file()
    {
        using var t = new FixtureTree("driver-too-old");
        AssertStatus(CheckStatus.Warn, Check(t, "holders"), "pids");
    }
    [Fact]
    public void Holders_fail_every_card_held()
    {
        using var t = new FixtureTree("n300");
        t.Write("proc/driver/tenstorrent/0/pids", "777");
        t.Write("proc/777/cmdline", "python3\0serve.py\0");
        AssertStatus(CheckStatus.Fail, Check(t, "holders"), "pid 777 python3 serve.py");
    }

    // ---- telemetry ----
    [Fact] public void Telemetry_ok() { using var t = new FixtureTree("p150"); AssertStatus(CheckStatus.Ok, Check(t, "telemetry")); }
    [Fact]
    public void Telemetry_warn_then_fail_for_one_missing_attribute()
    {
        using var t = new FixtureTree("n150");
        t.Delete(FixtureTree.Hwmon0 + "/power1_input");
        var m = t.Monitor();
        AssertStatus(CheckStatus.Warn, m.Probe().Checks.Single(c => c.Name == "telemetry"), "power1_input");
        t.Time.Advance(TimeSpan.FromMinutes(3));
        AssertStatus(CheckStatus.Fail, m.Probe().Checks.Single(c => c.Name == "telemetry"), "power1_input");
    }

    // ---- heartbeat ----
    [Fact] public void Heartbeat_ok_when_moving() { using var t = new FixtureTree("n150"); AssertStatus(CheckStatus.Ok, Check(t, "heartbeat"), "1 card(s) alive"); }
    [Fact]
    public void Heartbeat_ok_pending_on_first_read()
    {
        using var t = new FixtureTree("n150");
        AssertStatus(CheckStatus.Ok, t.Monitor().Probe().Checks.Single(c => c.Name == "heartbeat"), "awaiting");
    }
    [Fact]
    public void Heartbeat_warn_when_not_published()
    {
        using var t = new FixtureTree("driver-too-old");
        AssertStatus(CheckStatus.Warn, Check(t, "heartbeat"), "not published");
    }
    [Fact]
    public void Heartbeat_fail_when_stuck_across_reads_a_second_apart()
    {
        using var t = new FixtureTree("n150");
        var m = t.Monitor();
        m.Probe();
        t.Time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(CheckStatus.Ok, m.Probe().Checks.Single(c => c.Name == "heartbeat").Status); // < 1 s: no verdict yet
        t.Time.Advance(TimeSpan.FromMilliseconds(600));
        var s = m.Probe();
        AssertStatus(CheckStatus.Fail, s.Checks.Single(c => c.Name == "heartbeat"), "stuck at 104522");
        Assert.Equal(CardState.HeartbeatStopped, s.Cards[0].State);
    }

    // ---- thermal ----
    [Fact] public void Thermal_ok() { using var t = new FixtureTree("n150"); AssertStatus(CheckStatus.Ok, Check(t, "thermal"), "/75 °C"); }
    [Fact]
    public void Thermal_warn_near_limit()
    {
        using var t = new FixtureTree("n150");
        t.Write(FixtureTree.Hwmon0 + "/temp1_input", "72000");
        AssertStatus(CheckStatus.Warn, Check(t, "thermal"), "72.0 °C");
    }
    [Fact]
    public void Thermal_warn_trip_count_on_blackhole()
    {
        using var t = new FixtureTree("p150");
        t.Write(t.Class(0) + "/tt_therm_trip_count", "2");
        AssertStatus(CheckStatus.Warn, Check(t, "thermal"), "2 critical");
    }
    [Fact]
    public void Thermal_fail_at_limit()
    {
        using var t = new FixtureTree("n150");
        t.Write(FixtureTree.Hwmon0 + "/temp1_input", "75000");
        AssertStatus(CheckStatus.Fail, Check(t, "thermal"), "≥ throttle limit");
    }

    // ---- pcie link ----
    [Fact] public void Link_ok() { using var t = new FixtureTree("p150"); AssertStatus(CheckStatus.Ok, Check(t, "pcie-link")); }
    [Fact]
    public void Link_warn_downtrained()
    {
        using var t = new FixtureTree("n150");
        t.Write("sys/bus/pci/devices/0000:01:00.0/current_link_speed", "8.0 GT/s PCIe");
        t.Write("sys/bus/pci/devices/0000:01:00.0/current_link_width", "8");
        AssertStatus(CheckStatus.Warn, Check(t, "pcie-link"), "Gen3 x8 of Gen4 x16");
    }
    [Fact]
    public void Link_fail_down()
    {
        using var t = new FixtureTree("n150");
        t.Write("sys/bus/pci/devices/0000:01:00.0/current_link_width", "0");
        AssertStatus(CheckStatus.Fail, Check(t, "pcie-link"), "link down");
    }
}
