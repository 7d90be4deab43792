namespace VApicActors.Registers;

/// <summary>
/// What interrupt routing needs to know of one APIC: its ID, mode, software enable and logical
/// destination. An APIC reports a new identity whenever one of these changes (like the events that
/// mark KVM's <c>kvm_apic_map</c> dirty).
/// </summary>
/// <param name="Index">The vCPU's index in its VM (creation order).</param>
/// <param name="ApicId">The APIC ID as the current mode sees it: 32 bits in x2APIC mode, bits 31:24 of the ID register otherwise.</param>
/// <param name="Mode">Disabled, xAPIC or x2APIC.</param>
/// <param name="SoftwareEnabled">SVR bit 8.</param>
/// <param name="Ldr">The logical destination register as stored (xAPIC: bits 31:24 significant; x2APIC: derived).</param>
/// <param name="DfrModel">DFR bits 31:28: 0xF flat, 0x0 cluster (xAPIC only).</param>
public readonly record struct ApicRoutingIdentity(int Index, uint ApicId, ApicMode Mode, bool SoftwareEnabled, uint Ldr, byte DfrModel)
{
    public const byte FlatModel = 0xF;
    public const byte ClusterModel = 0x0;
}

/// <summary>A candidate's answer in a lowest-priority arbitration round.</summary>
/// <param name="Index">The vCPU index.</param>
/// <param name="ApicId">Its APIC ID (round robin goes in APIC-ID order).</param>
/// <param name="Eligible">Hardware- and software-enabled: only these can win.</param>
/// <param name="Ppr">Its processor priority now.</param>
/// <param name="Focus">SVR bit 9 clear and the vector already in its IRR or ISR.</param>
public readonly record struct LowestPriorityBid(int Index, uint ApicId, bool Eligible, byte Ppr, bool Focus);
