using TtProtocol.Hardware;

namespace Ttnoded.Tests.Hardware;

public sealed class DiscoveryTests
{
    [Fact]
    public void Loudbox_shows_4_boards_8_chips_with_serials_bdfs_numa_and_firmware()
    {
        using var t = new FixtureTree("loudbox");
        var s = t.Monitor().Probe();
        Assert.Equal(4, s.Boards);
        Assert.Equal(8, s.Chips);
        Assert.Equal("T3K", s.SystemClass);
        Assert.Equal(["0000:04:00.0", "0000:05:00.0", "0000:84:00.0", "0000:85:00.0"], s.Cards.Select(c => c.Bdf));
        Assert.Equal(["0100014511800001", "0100014511800002", "0100014511800003", "0100014511800004"], s.Cards.Select(c => c.Serial));
        Assert.Equal([0, 0, 1, 1], s.Cards.Select(c => c.NumaNode ?? -1));
        Assert.All(s.Cards, c =>
        {
            Assert.Equal("n300", c.BoardType);
            Assert.Equal("wormhole", c.Arch);
            Assert.Equal("0x401e", c.DeviceId);
            Assert.Equal(2, c.Chips);
            Assert.Equal(1, c.MmioChips);
            Assert.Equal(1, c.RemoteChips);
            Assert.Equal("19.4.2.0", c.Firmware.Bundle);
            Assert.Equal($"{c.Serial}@{c.Bdf}", c.Identity);
            Assert.Equal($"/dev/tenstorrent/{c.Index}", c.DevicePath);
            Assert.Equal($"236:{c.Index}", c.CharDevice);
            Assert.Equal(CardState.Usable, c.State);
            Assert.Equal("identity", c.IommuMode);
        });
    }

    [Fact]
    public void N150_is_one_chip_and_n300_is_two_behind_one_pci_function()
    {
        using var a = new FixtureTree("n150");
        var n150 = Assert.Single(a.Monitor().Probe().Cards);
        Assert.Equal(("n150", 1, 0), (n150.BoardType, n150.Chips, n150.RemoteChips));
        using var b = new FixtureTree("n300");
        var s = b.Monitor().Probe();
        var n300 = Assert.Single(s.Cards);
        Assert.Equal(("n300", 2, 1), (n300.BoardType, n300.Chips, n300.RemoteChips));
        Assert.Equal(("N300", 1, 2), (s.SystemClass, s.Boards, s.Chips));
    }

    [Fact]
    public void Wormhole_telemetry_is_in_si_units()
    {
        using var t = new FixtureTree("n150");
        var c = t.Monitor().Probe().Cards[0];
        var m = c.Telemetry;
        Assert.Equal(45.25, m.TemperatureCelsius);
        Assert.Equal(75.0, m.TemperatureLimitCelsius);
        Assert.Equal(14.0, m.PowerWatts);
        Assert.Equal(150.0, m.PowerLimitWatts);
        Assert.Equal(19.0, m.CurrentAmperes);
        Assert.Equal(170.0, m.CurrentLimitAmperes);
        Assert.Equal(0.735, m.VoltageVolts);
        Assert.Equal(0.95, m.VoltageLimitVolts);
        Assert.Equal(500e6, m.AiClockHertz);
        Assert.Equal(900e6, m.AxiClockHertz);
        Assert.Equal(540e6, m.ArcClockHertz);
        Assert.Equal(104522, m.Heartbeat);
        Assert.Null(m.FanRpm);            // Wormhole has no fan channel, and that is not "unavailable"
        Assert.Empty(m.NotYetAvailable);
        Assert.Equal(("16.0 GT/s PCIe", 4, 16), (c.Link.CurrentSpeed, c.Link.CurrentGeneration, c.Link.CurrentWidth));
        Assert.Equal(("2.35.0.0", "6.7.2", "129.2.0.0", "3.4.1.0"),
            (c.Firmware.ChipManagement, c.Firmware.Ethernet, c.Firmware.M3Bootloader, c.Firmware.TtFlash));
        Assert.Equal("0000A1B2C3D40001", c.AsicId);
    }

    [Fact]
    public void Blackhole_p150_has_fan_gen5_and_thermal_trip_count()
    {
        using var t = new FixtureTree("p150");
        var s = t.Monitor().Probe();
        var c = Assert.Single(s.Cards);
        Assert.Equal(("blackhole", "0xb140", "p150a", 1), (c.Arch, c.DeviceId, c.BoardType, c.Chips));
        Assert.Equal(2100, c.Telemetry.FanRpm);
        Assert.Equal(0, c.Telemetry.ThermalTripCount);
        Assert.Equal(5, c.Link.CurrentGeneration);
        Assert.Null(c.Firmware.M3Bootloader);
        Assert.Empty(c.Telemetry.NotYetAvailable);
        Assert.Equal("P150", s.SystemClass);
    }

    [Fact]
    public void Board_type_comes_from_the_board_id_not_the_subsystem_id_or_card_type_file()
    {
        using var t = new FixtureTree("n300");
        t.Write("sys/bus/pci/devices/0000:01:00.0/subsystem_device", "0x0018");
        t.Write(t.Class(0) + "/tt_card_type", "n150");
        var c = t.Monitor().Probe().Cards[0];
        Assert.Equal("n300", c.BoardType);
        Assert.Equal("n150", c.ReportedCardType);
    }

    [Fact]
    public void Unpublished_attributes_are_null_and_listed_never_zero()
    {
        using var t = new FixtureTree("not-published");
        var s = t.Monitor().Probe();
        var c = Assert.Single(s.Cards);
        Assert.Equal(CardState.NotReady, c.State);
        Assert.Null(c.Telemetry.TemperatureCelsius);
        Assert.Null(c.Telemetry.PowerWatts);
        Assert.Null(c.Telemetry.AiClockHertz);
        Assert.Null(c.Telemetry.Heartbeat);
        Assert.Null(c.Firmware.Bundle);
        Assert.Contains("temp1_input", c.Telemetry.NotYetAvailable);
        Assert.Contains("tt_aiclk", c.Telemetry.NotYetAvailable);
        Assert.Contains("tt_fw_bundle_ver", c.Telemetry.NotYetAvailable);
        Assert.Equal("wormhole", c.Arch);    // from the PCI device id
        Assert.Equal("noserial@0000:01:00.0", c.Identity);
        Assert.Equal("degraded", s.Health);
    }

    [Fact]
    public void Holders_come_from_procfs_pids_and_foreign_ones_make_the_card_busy()
    {
        using var t = new FixtureTree("n150");
        t.Write("proc/driver/tenstorrent/0/pids", "4242\n4242");
        t.Write("proc/4242/cmdline", "python3\0-m\0vllm.entrypoints.openai.api_server\0");
        t.Write("proc/4242/status", "Name:\tpython3\nUid:\t1000\t1000\t1000\t1000");
        var c = t.Monitor().Probe().Cards[0];
        var h = Assert.Single(c.Holders);
        Assert.Equal((4242, "python3 -m vllm.entrypoints.openai.api_server", 1000, true), (h.Pid, h.Command, h.Uid, h.Foreign));
        Assert.Equal(CardState.Busy, c.State);
    }

    [Fact]
    public void A_holder_ttnoded_started_is_not_foreign()
    {
        using var t = new FixtureTree("n150");
        t.Write("proc/driver/tenstorrent/0/pids", "5151");
        t.Write("proc/5151/comm", "ttjob");
        var m = t.Monitor();
        m.RegisterOwnProcess(5151);
        var c = m.Probe().Cards[0];
        Assert.False(Assert.Single(c.Holders).Foreign);
        Assert.Equal("ttjob", c.Holders[0].Command);
        Assert.Equal(CardState.Usable, c.State);
    }

    [Fact]
    public void Dev_node_without_sysfs_twin_is_a_missing_card()
    {
        using var t = new FixtureTree("card-vanished");
        var s = t.Monitor().Probe();
        Assert.Equal(3, s.Boards);
        Assert.Equal(6, s.Chips);
        var missing = Assert.Single(s.Cards, c => c.State == CardState.Missing);
        Assert.Equal(3, missing.Index);
        Assert.Contains("/dev/tenstorrent/3", missing.StateReason);
        Assert.Equal("degraded", s.Health);
    }

    [Fact]
    public void Sysfs_dev_number_that_leads_elsewhere_is_not_accepted()
    {
        using var t = new FixtureTree("n150");
        t.Write(t.Class(0) + "/dev", "236:7");
        var c = t.Monitor().Probe().Cards[0];
        Assert.Equal(CardState.Missing, c.State);
        Assert.Contains("236:7", c.StateReason);
    }

    [Fact]
    public void Unbound_function_is_listed_but_not_counted()
    {
        using var t = new FixtureTree("n150");
        t.Delete("sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/tenstorrent");
        t.Delete("sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/driver");
        t.Delete("dev/tenstorrent/0");
        t.Delete("dev/tenstorrent/by-id");
        var s = t.Monitor().Probe();
        var c = Assert.Single(s.Cards);
        Assert.Equal(CardState.Unbound, c.State);
        Assert.Equal((0, 0), (s.Boards, s.Chips));
    }

    [Fact]
    public void Empty_sysroot_probes_without_throwing()
    {
        var dir = Directory.CreateTempSubdirectory("tthw-empty");
        try
        {
            var s = new Ttnoded.Hardware.HardwareMonitor(dir.FullName, Path.Combine(dir.FullName, "locks")).Probe();
            Assert.Empty(s.Cards);
            Assert.Equal(CheckStatus.Fail, s.Checks.Single(c => c.Name == "driver").Status);
            Assert.Equal(CheckStatus.Fail, s.Checks.Single(c => c.Name == "cards").Status);
        }
        finally { dir.Delete(true); }
    }
}

public sealed class SharedBoardIdTests
{
    [Fact]
    public void Two_functions_with_one_board_id_count_as_one_board_of_two_chips()
    {
        using var t = new FixtureTree("loudbox");
        t.Write(t.Class(1) + "/tt_serial", "0100045511800001");   // p300a UPI 0x45
        t.Write(t.Class(0) + "/tt_serial", "0100045511800001");
        var s = t.Monitor().Probe();
        Assert.Equal(["p300a", "p300a"], s.Cards.Take(2).Select(c => c.BoardType));
        Assert.All(s.Cards.Take(2), c => Assert.Equal((1, 0), (c.Chips, c.RemoteChips)));
        Assert.Equal((3, 2 + 2 + 2), (s.Boards, s.Chips));
    }
}
