using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// The interrupt message a trace event's <c>Value</c> carries, packed as an MSI data word: vector 7:0,
/// delivery mode 10:8, level (assert) 14, trigger 15.
/// </summary>
public static class PackedMessage
{
    private const ulong VectorMask = 0xFF;
    private const int DeliveryModeShift = 8;
    private const ulong DeliveryModeMask = 0x7;
    private const int AssertBit = 14;
    private const int TriggerBit = 15;

    public static InterruptMessage Unpack(ulong value) => new(
        (DeliveryMode)((value >> DeliveryModeShift) & DeliveryModeMask),
        (byte)(value & VectorMask),
        ((value >> TriggerBit) & 1) != 0 ? TriggerMode.Level : TriggerMode.Edge,
        ((value >> AssertBit) & 1) != 0);

    /// <summary>The delivery mode as the SDM and KVM print it.</summary>
    public static string ModeName(DeliveryMode mode) => mode switch
    {
        DeliveryMode.Fixed => "Fixed",
        DeliveryMode.LowestPriority => "LowPrio",
        DeliveryMode.Smi => "SMI",
        DeliveryMode.Nmi => "NMI",
        DeliveryMode.Init => "INIT",
        DeliveryMode.StartUp => "SIPI",
        DeliveryMode.ExtInt => "ExtINT",
        _ => "Res3",
    };
}
