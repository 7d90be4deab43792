namespace VApicActors.Registers;

/// <summary>
/// Decoding of a message-signalled interrupt (SDM 10.11): the address selects the destination,
/// the data the vector and delivery mode.
/// </summary>
public static class Msi
{
    /// <summary>Address bits 31:20 of every MSI.</summary>
    public const ulong AddressBase = 0xFEE0_0000;
    private const ulong AddressWindowMask = 0xFFFF_FFFF_FFF0_0000;
    private const int DestinationShift = 12;
    private const ulong DestinationMask = 0xFF;
    /// <summary>Address bit 2: destination mode (1 = logical).</summary>
    private const ulong DestinationModeLogical = 1 << 2;
    private const uint DataVectorMask = 0xFF;
    private const int DataDeliveryModeShift = 8;
    private const uint DataDeliveryModeMask = 0x7;
    /// <summary>Data bit 14: level (1 = assert), meaningful for level-triggered messages.</summary>
    private const uint DataLevelAssert = 1 << 14;
    /// <summary>Data bit 15: trigger mode (1 = level).</summary>
    private const uint DataTriggerLevel = 1 << 15;

    /// <summary>
    /// Decodes an MSI. Returns false when the write is not an interrupt at all: an address outside
    /// 0xFEE00000–0xFEEFFFFF, a level-triggered de-assert, or a delivery mode an MSI cannot carry
    /// (Start-up, ExtINT, reserved). The redirection hint (address bit 3) is ignored.
    /// </summary>
    public static bool TryDecode(ulong address, uint data, out InterruptRequest request)
    {
        request = default;
        if ((address & AddressWindowMask) != AddressBase)
        {
            return false;
        }
        var mode = (DeliveryMode)((data >> DataDeliveryModeShift) & DataDeliveryModeMask);
        var trigger = (data & DataTriggerLevel) != 0 ? TriggerMode.Level : TriggerMode.Edge;
        var assert = (data & DataLevelAssert) != 0;
        if (mode is DeliveryMode.StartUp or DeliveryMode.ExtInt or DeliveryMode.Reserved3)
        {
            return false;
        }
        if (trigger == TriggerMode.Level && !assert)
        {
            return false;
        }
        request = new InterruptRequest(
            mode,
            (byte)(data & DataVectorMask),
            trigger,
            Assert: true,
            Logical: (address & DestinationModeLogical) != 0,
            DestinationShorthand.None,
            (uint)((address >> DestinationShift) & DestinationMask),
            X2ApicFormat: false);
        return true;
    }
}
