namespace VApicActors.Registers;

/// <summary>
/// An interrupt message as it arrives at one local APIC: from an IPI, an MSI or an I/O APIC
/// (the message's destination has already been matched).
/// </summary>
/// <param name="Mode">Delivery mode. Lowest priority arrives here as the one chosen APIC's message.</param>
/// <param name="Vector">Vector; ignored by NMI, SMI and INIT; the start page for a Start-up IPI.</param>
/// <param name="Trigger">Edge or level; a level message sets the TMR bit.</param>
/// <param name="Assert">The level bit: false is a de-assert (INIT level de-assert, level MSI de-assert).</param>
public readonly record struct InterruptMessage(DeliveryMode Mode, byte Vector, TriggerMode Trigger = TriggerMode.Edge, bool Assert = true)
{
    public static InterruptMessage Fixed(byte vector, TriggerMode trigger = TriggerMode.Edge) => new(DeliveryMode.Fixed, vector, trigger);
    public static InterruptMessage Nmi => new(DeliveryMode.Nmi, 0);
    public static InterruptMessage Smi => new(DeliveryMode.Smi, 0);
    public static InterruptMessage Init => new(DeliveryMode.Init, 0);
    public static InterruptMessage StartUp(byte vector) => new(DeliveryMode.StartUp, vector);
}

/// <summary>
/// An interrupt request on its way to its destinations: a decoded ICR write (an IPI) or a decoded MSI.
/// </summary>
/// <param name="Mode">Delivery mode.</param>
/// <param name="Vector">Vector (bits 7:0).</param>
/// <param name="Trigger">Trigger mode; fixed and lowest-priority IPIs are always edge (profile decision 9).</param>
/// <param name="Assert">Level bit.</param>
/// <param name="Logical">Destination mode: logical (true) or physical.</param>
/// <param name="Shorthand">Destination shorthand; MSIs have none.</param>
/// <param name="Destination">Destination field: 8 bits in xAPIC format, 32 bits in x2APIC format.</param>
/// <param name="X2ApicFormat">The destination is in the x2APIC (32-bit) format of its sender.</param>
public readonly record struct InterruptRequest(
    DeliveryMode Mode,
    byte Vector,
    TriggerMode Trigger,
    bool Assert,
    bool Logical,
    DestinationShorthand Shorthand,
    uint Destination,
    bool X2ApicFormat)
{
    /// <summary>The message each matched destination receives.</summary>
    public InterruptMessage Message => new(Mode == DeliveryMode.LowestPriority ? DeliveryMode.Fixed : Mode, Vector, Trigger, Assert);

    /// <summary>True when the destination field addresses every APIC (0xFF, or 0xFFFFFFFF in x2APIC format).</summary>
    public bool IsBroadcast => Shorthand == DestinationShorthand.None
        && Destination == (X2ApicFormat ? ApicId.X2ApicBroadcast : ApicId.XApicBroadcast);
}
