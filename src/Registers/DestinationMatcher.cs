namespace VApicActors.Registers;

/// <summary>
/// Which APICs an interrupt request addresses (SDM 10.6.2, 10.12.9, 10.12.10): shorthands, physical
/// and logical destinations, broadcasts. Pure functions over routing identities.
/// </summary>
public static class DestinationMatcher
{
    private const int XApicLogicalShift = 24;
    private const uint XApicClusterMask = 0xF0;
    private const uint XApicMemberMask = 0x0F;
    private const int X2ApicClusterShift = 16;
    private const uint X2ApicMemberMask = 0xFFFF;

    /// <summary>
    /// True when <paramref name="target"/> is a destination of <paramref name="request"/> sent by the APIC
    /// with index <paramref name="sourceIndex"/> (-1 for a device: MSIs). Mixed modes: a broadcast is judged
    /// in the sender's format; an x2APIC receiver matches on its 32-bit ID and derived LDR, an xAPIC receiver
    /// on its 8-bit ID and LDR[31:24] with its DFR.
    /// </summary>
    public static bool Matches(in ApicRoutingIdentity target, in InterruptRequest request, int sourceIndex)
    {
        switch (request.Shorthand)
        {
            case DestinationShorthand.Self:
                return target.Index == sourceIndex;
            case DestinationShorthand.AllIncludingSelf:
                return true;
            case DestinationShorthand.AllExcludingSelf:
                return target.Index != sourceIndex;
        }
        if (request.IsBroadcast)
        {
            return true;
        }
        return request.Logical
            ? MatchesLogical(target, request.Destination)
            : MatchesPhysical(target, request.Destination);
    }

    /// <summary>Physical destination: the receiver's ID in its own mode's width.</summary>
    public static bool MatchesPhysical(in ApicRoutingIdentity target, uint destination) => target.ApicId == destination;

    /// <summary>Logical destination, by the receiver's mode: x2APIC cluster, or xAPIC flat/cluster by its DFR.</summary>
    public static bool MatchesLogical(in ApicRoutingIdentity target, uint destination)
    {
        if (target.Mode == ApicMode.X2Apic)
        {
            return (target.Ldr >> X2ApicClusterShift) == (destination >> X2ApicClusterShift)
                && (target.Ldr & destination & X2ApicMemberMask) != 0;
        }
        if (destination > ApicId.XApicBroadcast)
        {
            return false;
        }
        var logicalId = target.Ldr >> XApicLogicalShift;
        return target.DfrModel switch
        {
            ApicRoutingIdentity.FlatModel => (logicalId & destination) != 0,
            ApicRoutingIdentity.ClusterModel => (logicalId & XApicClusterMask) == (destination & XApicClusterMask)
                && (logicalId & destination & XApicMemberMask) != 0,
            _ => false,
        };
    }

    /// <summary>The x2APIC logical ID derived from an x2APIC ID (SDM 10.12.10.2).</summary>
    public static uint X2ApicLdr(uint apicId) => ((apicId >> 4) << X2ApicClusterShift) | (1u << (int)(apicId & 0xF));
}
