namespace VApicActors.Registers;

/// <summary>An initial APIC ID: 8 bits in xAPIC mode, 32 bits in x2APIC mode (SDM 10.4.6, 10.12.1).</summary>
public readonly record struct ApicId(uint Value)
{
    /// <summary>The xAPIC physical broadcast destination.</summary>
    public const uint XApicBroadcast = 0xFF;

    /// <summary>The x2APIC physical and logical broadcast destination.</summary>
    public const uint X2ApicBroadcast = 0xFFFF_FFFF;

    public override string ToString() => "0x" + Value.ToString("X");
}
