namespace Ttnoded.Hardware;

/// <summary>PCI ids, board types (from the board id's UPI) and chips per board, per tenstorrent-hardware.md §1.</summary>
internal static class BoardTypes
{
    public const int Vendor = 0x1E52;
    public const int Grayskull = 0xFACA, Wormhole = 0x401E, Blackhole = 0xB140;

    public static string ArchOf(int deviceId) => deviceId switch
    {
        Wormhole => "wormhole",
        Blackhole => "blackhole",
        Grayskull => "grayskull",
        _ => $"unknown-0x{deviceId:x4}",
    };

    /// <summary>UPI = bits 36..55 of the 64-bit board id (tt_serial is 16 hex digits, high word first).</summary>
    public static int? UpiOf(string? serial)
    {
        if (serial is null || serial.Length != 16 ||
            !ulong.TryParse(serial, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var id))
            return null;
        return (int)((id >> 36) & 0xFFFFF);
    }

    /// <summary>Board type name for a UPI (kmd tt_card_type names), or null if unknown.</summary>
    public static string? NameOf(int upi) => upi switch
    {
        0x18 => "n150",
        0x14 => "n300",
        0x35 => "galaxy-wormhole",
        0x0B => "wh_4u",
        0x08 => "nb_cb",
        0x36 => "p100",
        0x43 => "p100a",
        0x40 => "p150a",
        0x41 => "p150b",
        0x42 => "p150c",
        0x44 => "p300b",
        0x45 => "p300a",
        0x46 => "p300c",
        0x47 => "galaxy-blackhole",
        0x3 => "e150",
        0x7 => "e75",
        0xA => "e300",
        _ => null,
    };

    /// <summary>Chips on one board (UMD get_number_of_chips_from_board_type). Galaxy chips are each a PCI function.</summary>
    public static int ChipsPerBoard(string boardType) => boardType switch
    {
        "n300" => 2,
        "p300a" or "p300b" or "p300c" => 2,
        _ => 1,
    };

    /// <summary>The tt-inference-server device class for a set of boards (e.g. 4×n300 → T3K), or null.</summary>
    public static string? SystemClassOf(IReadOnlyDictionary<string, int> boardsByType)
    {
        if (boardsByType.Count != 1) return null;
        var (type, n) = boardsByType.First();
        string family = type switch
        {
            "p150a" or "p150b" or "p150c" => "p150",
            "p300a" or "p300b" or "p300c" => "p300",
            "p100" or "p100a" => "p100",
            _ => type,
        };
        return (family, n) switch
        {
            ("n150", 1) => "N150",
            ("n150", 4) => "N150X4",
            ("n300", 1) => "N300",
            ("n300", 4) => "T3K",
            ("p100", 1) => "P100",
            ("p150", 1) => "P150",
            ("p150", 4) => "P150X4",
            ("p150", 8) => "P150X8",
            ("p300", 1) => "P300",
            ("p300", 2) => "P300X2",
            ("galaxy-wormhole", 32) => "GALAXY",
            ("galaxy-blackhole", 32) => "BLACKHOLE_GALAXY",
            _ => null,
        };
    }

    /// <summary>PCIe generation from a sysfs link speed ("16.0 GT/s PCIe" → 4).</summary>
    public static int? PcieGeneration(string? speed)
    {
        if (speed is null) return null;
        var num = speed.Split(' ', 2)[0];
        return num switch
        {
            "2.5" => 1,
            "5.0" or "5" => 2,
            "8.0" or "8" => 3,
            "16.0" or "16" => 4,
            "32.0" or "32" => 5,
            "64.0" or "64" => 6,
            _ => null,
        };
    }
}
