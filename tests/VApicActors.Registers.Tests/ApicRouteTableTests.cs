using CsCheck;
using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.DestinationMatcherTests;

namespace VApicActors.Registers.Tests;

/// <summary>The route table: fast paths that agree with <see cref="DestinationMatcher"/> on every request.</summary>
public sealed class ApicRouteTableTests
{
    private static int[] Resolve(ApicRouteTable table, InterruptRequest request, int source = 0)
    {
        var destinations = new List<int>();
        table.Resolve(request, source, destinations);
        return [.. destinations];
    }

    [Fact]
    public void Resolve_PhysicalUniqueIds_FindsTheOneApic()
    {
        var table = new ApicRouteTable([XApic(0, 0), XApic(1, 1), XApic(2, 9)]);

        Assert.Equal([2], Resolve(table, Physical(9)));
        Assert.Empty(Resolve(table, Physical(3)));
        Assert.Equal(2, table.IndexOf(9));
        Assert.Equal(-1, table.IndexOf(3));
        Assert.Equal(3, table.Count);
        Assert.Equal(9u, table[2].ApicId);
    }

    [Fact]
    public void Resolve_PhysicalAliasedIds_FindsEveryMatch()
    {
        var table = new ApicRouteTable([XApic(0, 0), XApic(1, 0), XApic(2, 1)]);

        Assert.Equal([0, 1], Resolve(table, Physical(0)));
    }

    [Theory]
    [InlineData(DestinationShorthand.Self, new[] { 1 })]
    [InlineData(DestinationShorthand.AllIncludingSelf, new[] { 0, 1, 2 })]
    [InlineData(DestinationShorthand.AllExcludingSelf, new[] { 0, 2 })]
    public void Resolve_Shorthands_UseTheSender(DestinationShorthand shorthand, int[] expected)
    {
        var table = new ApicRouteTable([XApic(0, 0), XApic(1, 1), XApic(2, 2)]);

        Assert.Equal(expected, Resolve(table, Shorthand(shorthand), source: 1));
    }

    [Fact]
    public void Resolve_Broadcasts_ReachEveryoneInIndexOrder()
    {
        var x2 = new ApicRouteTable([X2Apic(0, 0x30), X2Apic(1, 0x01), X2Apic(2, 0x12)]);
        var x = new ApicRouteTable([XApic(0, 3), XApic(1, 1), XApic(2, 2)]);

        Assert.Equal([0, 1, 2], Resolve(x2, Physical(0xFFFF_FFFF, x2: true)));
        Assert.Equal([0, 1, 2], Resolve(x2, Logical(0xFFFF_FFFF, x2: true)));
        Assert.Equal([0, 1, 2], Resolve(x, Physical(0xFF)));
        Assert.Equal([0, 1, 2], Resolve(x, Logical(0xFF)));
    }

    [Fact]
    public void Resolve_X2ApicCluster_ReturnsMembersInIndexOrder()
    {
        var table = new ApicRouteTable([X2Apic(0, 0x12), X2Apic(1, 0x11), X2Apic(2, 0x10), X2Apic(3, 0x01)]);

        Assert.Equal([0, 1], Resolve(table, Logical(0x0001_0006, x2: true)));
        Assert.Equal([0, 1, 2], Resolve(table, Logical(0x0001_0007, x2: true)));
        Assert.Empty(Resolve(table, Logical(0x0003_0007, x2: true)));
    }

    [Fact]
    public void Resolve_LogicalFlatAndCluster_MatchTheTables()
    {
        var flat = new ApicRouteTable([XApic(0, 0, 0x0100_0000), XApic(1, 1, 0x0200_0000)]);
        var cluster = new ApicRouteTable([
            XApic(0, 0, 0x2100_0000, ApicRoutingIdentity.ClusterModel),
            XApic(1, 1, 0x2200_0000, ApicRoutingIdentity.ClusterModel),
        ]);

        Assert.Equal([0, 1], Resolve(flat, Logical(0x03)));
        Assert.Equal([1], Resolve(flat, Logical(0xFE)));
        Assert.Empty(Resolve(flat, Logical(0x04)));
        Assert.Equal([0, 1], Resolve(cluster, Logical(0x23)));
        Assert.Empty(Resolve(cluster, Logical(0x12)));
    }

    [Fact]
    public void Resolve_MixedModes_JudgeBroadcastInSenderFormatAndMatchEachReceiverInItsOwn()
    {
        var table = new ApicRouteTable([XApic(0, 1, 0x0100_0000), X2Apic(1, 1), X2Apic(2, 0xFF), X2Apic(3, 0x100)]);

        Assert.Equal([0, 1, 2, 3], Resolve(table, Physical(0xFF)));
        Assert.Equal([2], Resolve(table, Physical(0xFF, x2: true)));
        Assert.Equal([0, 1, 2, 3], Resolve(table, Physical(0xFFFF_FFFF, x2: true)));
        Assert.Equal([0, 1], Resolve(table, Physical(1, x2: true)));
        Assert.Equal([3], Resolve(table, Physical(0x100, x2: true)));
        Assert.Equal([0, 1], Resolve(table, Logical(0x03)));
        Assert.Equal([3], Resolve(table, Logical(0x0010_0001, x2: true)));
    }

    [Fact]
    public void With_ReplacesOneIdentityAndLeavesTheOriginal()
    {
        var table = new ApicRouteTable([XApic(0, 0, 0x0100_0000), XApic(1, 1, 0x0200_0000)]);

        var updated = table.With(XApic(1, 1, 0x0400_0000));

        Assert.Equal([1], Resolve(updated, Logical(0x04)));
        Assert.Empty(Resolve(table, Logical(0x04)));
    }

    [Fact]
    public void Constructor_IndexOutOfOrder_Throws()
    {
        Assert.Throws<ArgumentException>(() => new ApicRouteTable([XApic(1, 0)]));
    }

    [Fact]
    public void Resolve_EveryRequest_AgreesWithDestinationMatcher()
    {
        var genIdentity = Gen.Select(Gen.Int[0, 2], Gen.UInt[0, 0x40], Gen.Bool, Gen.UInt, Gen.OneOf((byte)0xF, (byte)0x0, (byte)0x5));
        var genTable = genIdentity.Array[1, 8].Select(parts => parts.Select((p, i) =>
        {
            var mode = (ApicMode)p.Item1;
            return mode == ApicMode.X2Apic
                ? new ApicRoutingIdentity(i, p.Item2, mode, p.Item3, DestinationMatcher.X2ApicLdr(p.Item2), ApicRoutingIdentity.FlatModel)
                : new ApicRoutingIdentity(i, p.Item2 & 0xFF, mode, p.Item3, p.Item4 & 0xFF00_0000, p.Item5);
        }).ToArray());
        var genDestination = GenExtras.AnyOf<uint>(Gen.UInt[0, 0x40], Gen.UInt[0, 0xFF], Gen.UInt[0, 0x3_FFFF], Gen.OneOf(0xFFu, 0xFFFF_FFFFu), Gen.UInt);
        var genRequest = Gen.Select(Gen.Bool, Gen.Enum<DestinationShorthand>(), genDestination, Gen.Bool, Gen.Int[-1, 8])
            .Select(p => (Request: new InterruptRequest(DeliveryMode.Fixed, 0x50, TriggerMode.Edge, true, p.Item1, p.Item2, p.Item3, p.Item4), Source: p.Item5));
        var allX2 = genIdentity.Array[1, 8].Select(parts => parts.Select((p, i) =>
            new ApicRoutingIdentity(i, p.Item2 * 3, ApicMode.X2Apic, p.Item3, DestinationMatcher.X2ApicLdr(p.Item2 * 3), ApicRoutingIdentity.FlatModel)).ToArray());

        Gen.Select(GenExtras.AnyOf<ApicRoutingIdentity[]>(genTable, allX2), genRequest).Sample(t =>
        {
            var (identities, (request, source)) = t;
            var table = new ApicRouteTable(identities);
            var expected = identities.Where(i => DestinationMatcher.Matches(i, request, source)).Select(i => i.Index).ToArray();
            Assert.Equal(expected, Resolve(table, request, source));
        }, iter: 20_000);
    }
}
