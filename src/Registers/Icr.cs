namespace VApicActors.Registers;

/// <summary>
/// A decoded interrupt command (SDM 10.6.1, Fig. 10-12; 10.12.9 for the 64-bit x2APIC form): the ICR's low
/// word and its destination (ICR high bits 31:24 in xAPIC mode, bits 63:32 of MSR 0x830 in x2APIC mode).
/// </summary>
public readonly record struct Icr(uint Low, uint Destination)
{
    public const uint VectorMask = 0xFF;
    public const int DeliveryModeShift = 8;
    public const uint DeliveryModeMask = 0x7;
    /// <summary>Bit 11: destination mode, 1 = logical.</summary>
    public const uint DestinationLogical = 1u << 11;
    /// <summary>Bit 12: delivery status (read-only; reads 0 once the IPI has been handed on).</summary>
    public const uint DeliveryStatus = 1u << 12;
    /// <summary>Bit 14: level, 1 = assert.</summary>
    public const uint LevelAssert = 1u << 14;
    /// <summary>Bit 15: trigger mode, 1 = level.</summary>
    public const uint TriggerLevel = 1u << 15;
    public const int ShorthandShift = 18;
    public const uint ShorthandMask = 0x3;
    /// <summary>The low-word bits the register keeps: vector, delivery mode, destination mode, level, trigger, shorthand.</summary>
    public const uint Writable = 0x000C_CFFF;
    /// <summary>Low-word bits that raise #GP when set in an x2APIC ICR write: 31:20, 17:16 and 13.</summary>
    public const uint X2ApicReserved = 0xFFF0_0000 | (3u << 16) | (1u << 13);
    /// <summary>xAPIC ICR high: the destination sits in bits 31:24.</summary>
    public const int XApicDestinationShift = 24;
    public const uint XApicDestinationMask = 0xFF00_0000;

    public byte Vector => (byte)(Low & VectorMask);
    public DeliveryMode DeliveryMode => (DeliveryMode)((Low >> DeliveryModeShift) & DeliveryModeMask);
    public bool Logical => (Low & DestinationLogical) != 0;
    public bool Assert => (Low & LevelAssert) != 0;
    public TriggerMode Trigger => (Low & TriggerLevel) != 0 ? TriggerMode.Level : TriggerMode.Edge;
    public DestinationShorthand Shorthand => (DestinationShorthand)((Low >> ShorthandShift) & ShorthandMask);

    /// <summary>The ICR low word of a command.</summary>
    public static uint Encode(
        DeliveryMode mode,
        byte vector,
        DestinationShorthand shorthand = DestinationShorthand.None,
        bool logical = false,
        bool assert = true,
        TriggerMode trigger = TriggerMode.Edge) =>
        vector
        | ((uint)mode << DeliveryModeShift)
        | (logical ? DestinationLogical : 0)
        | (assert ? LevelAssert : 0)
        | (trigger == TriggerMode.Level ? TriggerLevel : 0)
        | ((uint)shorthand << ShorthandShift);
}
