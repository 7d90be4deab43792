using VApicActors.Registers;
using Xunit;

namespace VApicActors.Registers.Tests;

/// <summary>Destination matching as pure functions (SDM 10.6.2, 10.12.9, 10.12.10).</summary>
public sealed class DestinationMatcherTests
{
    internal static ApicRoutingIdentity XApic(int index, uint id, uint ldr = 0, byte dfr = ApicRoutingIdentity.FlatModel, bool enabled = true) =>
        new(index, id, ApicMode.XApic, enabled, ldr, dfr);

    internal static ApicRoutingIdentity X2Apic(int index, uint id, bool enabled = true) =>
        new(index, id, ApicMode.X2Apic, enabled, DestinationMatcher.X2ApicLdr(id), ApicRoutingIdentity.FlatModel);

    internal static InterruptRequest Physical(uint destination, bool x2 = false) =>
        new(DeliveryMode.Fixed, 0x50, TriggerMode.Edge, true, false, DestinationShorthand.None, destination, x2);

    internal static InterruptRequest Logical(uint destination, bool x2 = false) =>
        new(DeliveryMode.Fixed, 0x50, TriggerMode.Edge, true, true, DestinationShorthand.None, destination, x2);

    internal static InterruptRequest Shorthand(DestinationShorthand shorthand, uint destination = 0x05) =>
        new(DeliveryMode.Fixed, 0x50, TriggerMode.Edge, true, false, shorthand, destination, false);

    private static int[] Matching(IEnumerable<ApicRoutingIdentity> targets, InterruptRequest request, int source = 0) =>
        targets.Where(t => DestinationMatcher.Matches(t, request, source)).Select(t => t.Index).ToArray();

    [Fact]
    public void Matches_PhysicalXApic_MatchesIdOnly()
    {
        ApicRoutingIdentity[] cpus = [XApic(0, 0), XApic(1, 1), XApic(2, 7)];

        Assert.Equal([1], Matching(cpus, Physical(1)));
        Assert.Equal([2], Matching(cpus, Physical(7)));
        Assert.Empty(Matching(cpus, Physical(3)));
    }

    [Fact]
    public void Matches_PhysicalBroadcast_MatchesEveryoneIncludingSender()
    {
        ApicRoutingIdentity[] cpus = [XApic(0, 0), XApic(1, 1), X2Apic(2, 0x100)];

        Assert.Equal([0, 1, 2], Matching(cpus, Physical(0xFF)));
        Assert.Equal([0, 1, 2], Matching(cpus, Physical(0xFFFF_FFFF, x2: true)));
    }

    [Fact]
    public void Matches_X2ApicPhysicalFF_IsNotABroadcast()
    {
        ApicRoutingIdentity[] cpus = [X2Apic(0, 0), X2Apic(1, 1), X2Apic(2, 0xFF)];

        Assert.Equal([2], Matching(cpus, Physical(0xFF, x2: true)));
    }

    [Fact]
    public void Matches_AliasedPhysicalIds_MatchesEveryOne()
    {
        ApicRoutingIdentity[] cpus = [XApic(0, 0), XApic(1, 0)];

        Assert.Equal([0, 1], Matching(cpus, Physical(0)));
    }

    [Theory]
    [InlineData(DestinationShorthand.Self, new[] { 1 })]
    [InlineData(DestinationShorthand.AllIncludingSelf, new[] { 0, 1, 2 })]
    [InlineData(DestinationShorthand.AllExcludingSelf, new[] { 0, 2 })]
    public void Matches_Shorthand_IgnoresDestinationField(DestinationShorthand shorthand, int[] expected)
    {
        ApicRoutingIdentity[] cpus = [XApic(0, 0), XApic(1, 1), XApic(2, 5)];

        Assert.Equal(expected, Matching(cpus, Shorthand(shorthand, 0x05), source: 1));
    }

    [Fact]
    public void Matches_SelfFromDevice_MatchesNothing()
    {
        ApicRoutingIdentity[] cpus = [XApic(0, 0), XApic(1, 1)];

        Assert.Empty(Matching(cpus, Shorthand(DestinationShorthand.Self), source: -1));
    }

    [Theory]
    [InlineData(0x03u, new[] { 0, 1 })]
    [InlineData(0x02u, new[] { 1 })]
    [InlineData(0xFEu, new[] { 1 })]
    [InlineData(0x04u, new int[0])]
    [InlineData(0xFFu, new[] { 0, 1, 2 })]
    public void Matches_LogicalFlat_IntersectsLdrBits(uint destination, int[] expected)
    {
        ApicRoutingIdentity[] cpus = [XApic(0, 0, 0x0100_0000), XApic(1, 1, 0x0200_0000), XApic(2, 2, 0)];

        Assert.Equal(expected, Matching(cpus, Logical(destination)));
    }

    [Theory]
    [InlineData(0x23u, new[] { 0, 1 })]
    [InlineData(0x22u, new[] { 1 })]
    [InlineData(0x12u, new int[0])]
    [InlineData(0x2Cu, new int[0])]
    [InlineData(0xFFu, new[] { 0, 1 })]
    public void Matches_LogicalCluster_NeedsSameClusterAndMemberBit(uint destination, int[] expected)
    {
        ApicRoutingIdentity[] cpus = [XApic(0, 0, 0x2100_0000, ApicRoutingIdentity.ClusterModel), XApic(1, 1, 0x2200_0000, ApicRoutingIdentity.ClusterModel)];

        Assert.Equal(expected, Matching(cpus, Logical(destination)));
    }

    [Fact]
    public void Matches_LogicalUnknownDfrModel_NeverMatchesButBroadcast()
    {
        var cpu = XApic(0, 0, 0xFF00_0000, 0x5);

        for (uint destination = 0; destination < 0xFF; destination++)
        {
            Assert.False(DestinationMatcher.Matches(cpu, Logical(destination), -1));
        }
        Assert.True(DestinationMatcher.Matches(cpu, Logical(0xFF), -1));
    }

    [Fact]
    public void MatchesLogical_FlatEveryDestination_MatchesExactlyWhenBitsIntersect()
    {
        for (var bit = 0; bit < 8; bit++)
        {
            var cpu = XApic(0, 0, 1u << (24 + bit));
            for (uint destination = 0; destination <= 0xFF; destination++)
            {
                Assert.Equal((destination & (1u << bit)) != 0, DestinationMatcher.MatchesLogical(cpu, destination));
            }
        }
    }

    [Theory]
    [InlineData(0x0001_0006u, new[] { 2, 3 })]
    [InlineData(0x0001_0001u, new[] { 1 })]
    [InlineData(0x0000_0002u, new[] { 0 })]
    [InlineData(0x0002_FFFFu, new int[0])]
    [InlineData(0xFFFF_FFFFu, new[] { 0, 1, 2, 3 })]
    public void Matches_X2ApicCluster_NeedsSameClusterAndMemberBit(uint destination, int[] expected)
    {
        ApicRoutingIdentity[] cpus = [X2Apic(0, 0x01), X2Apic(1, 0x10), X2Apic(2, 0x11), X2Apic(3, 0x12)];

        Assert.Equal(expected, Matching(cpus, Logical(destination, x2: true)));
    }

    [Fact]
    public void Matches_MixedModes_EachReceiverMatchesInItsOwnFormat()
    {
        ApicRoutingIdentity[] cpus = [XApic(0, 1, 0x0100_0000), X2Apic(1, 1), X2Apic(2, 0x100)];

        Assert.Equal([0, 1], Matching(cpus, Physical(1)));
        Assert.Equal([0, 1], Matching(cpus, Physical(1, x2: true)));
        Assert.Equal([2], Matching(cpus, Physical(0x100, x2: true)));
        Assert.Equal([0, 1, 2], Matching(cpus, Physical(0xFF)));
        Assert.DoesNotContain(0, Matching(cpus, Logical(0x0001_0001, x2: true)));
        Assert.Equal([2], Matching(cpus, Logical(0x0010_0001, x2: true)));
    }

    [Fact]
    public void X2ApicLdr_EveryIdInFirstClusters_IsClusterAndOneHotMember()
    {
        for (uint id = 0; id < 0x400; id++)
        {
            var ldr = DestinationMatcher.X2ApicLdr(id);
            Assert.Equal(id >> 4, ldr >> 16);
            Assert.Equal(1u << (int)(id & 0xF), ldr & 0xFFFF);
        }
    }
}
