using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>Survey cases H1–H6 through the actors, plus x2APIC destinations: who receives a fixed IPI.</summary>
public sealed class IpiDestinationSpecs : VmSpecBase
{
    public IpiDestinationSpecs(ITestOutputHelper output) : base(output)
    {
    }

    [Fact]
    public async Task H1_FixedPhysicalIpi_ReachesTargetIrr_AndDeliveryStatusReadsIdle()
    {
        await StartVm(2);
        await EnableAll();

        await W(0, IcrHigh, Icr.Destination(1));
        Assert.True((await Irr(1)).IsEmpty);
        await W(0, IcrLow, Icr.Assert | 0x31);

        Assert.Equal(0x0002_0000u, await R(1, Irr0 + Stride));
        Assert.True((await Irr(0)).IsEmpty);
        Assert.Equal(0x0000_4031u, await R(0, IcrLow));

        await W(0, IcrLow, Icr.Assert | (1u << 12) | 0x31);
        Assert.Equal(0x0000_4031u, await R(0, IcrLow));
        Assert.Equal(new[] { 1 }, await Drain(0x31));
        Assert.Equal(2, (await Deliveries(0x31))[1]);
    }

    [Fact]
    public async Task H2_Shorthands_IgnoreTheDestinationField()
    {
        await StartVm(3);
        await EnableAll();

        await Ipi(0, 5, Icr.Assert | Icr.Self | 0x41);
        Assert.Equal(new[] { 0 }, await Drain(0x41));
        await Ipi(0, 5, Icr.Assert | Icr.AllIncludingSelf | 0x42);
        Assert.Equal(new[] { 0, 1, 2 }, await Drain(0x42));
        await Ipi(0, 5, Icr.Assert | Icr.AllExcludingSelf | Icr.Logical | 0x43);
        Assert.Equal(new[] { 1, 2 }, await Drain(0x43));
    }

    [Fact]
    public async Task H3_XApicPhysicalBroadcast_ReachesEveryApicOncePerSend()
    {
        await StartVm(3);
        await EnableAll();

        await Ipi(1, 0xFF, Icr.Assert | 0xCF);
        Assert.Equal(new[] { 0, 1, 2 }, await Drain(0xCF));
        await Ipi(1, 0, Icr.Assert | Icr.AllIncludingSelf | 0xCF);
        Assert.Equal(new[] { 0, 1, 2 }, await Drain(0xCF));

        var deliveries = await Deliveries(0xCF);
        Assert.All(new uint[] { 0, 1, 2 }, id => Assert.Equal(2, deliveries[id]));
    }

    [Fact]
    public async Task H4_UnmatchedPhysicalDestination_IsDroppedSilently_AndTheIdRegisterIsReadOnly()
    {
        await StartVm(2);
        await EnableAll();

        await W(0, Esr, 0);
        await Ipi(0, 7, Icr.Assert | 0x51);
        await W(0, Esr, 0);
        Assert.Equal(0u, await R(0, Esr));
        Assert.Empty(await Drain(0x51));

        // The xAPIC ID is read-only: APIC 1 keeps ID 1 and only APIC 0 answers destination 0.
        await W(1, Id, 0);
        Assert.Equal(Icr.Destination(1), await R(1, Id));
        await Ipi(1, 0, Icr.Assert | 0x52);
        Assert.Equal(new[] { 0 }, await Drain(0x52));
    }

    [Theory]
    [InlineData(0x03u, new[] { 0, 1 })]
    [InlineData(0x02u, new[] { 1 })]
    [InlineData(0xFEu, new[] { 1 })]
    [InlineData(0x04u, new int[0])]
    [InlineData(0xFFu, new[] { 0, 1, 2 })]
    public async Task H5_FlatLogicalDestination_MatchesLdrBits(uint destination, int[] expected)
    {
        await StartVm(3);
        await EnableAll();
        for (var cpu = 0; cpu < 3; cpu++)
        {
            await W(cpu, Dfr, Values.DfrFlat);
        }
        await W(0, Ldr, 0x0100_0000);
        await W(1, Ldr, 0x0200_0000);

        await Ipi(0, destination, Icr.Assert | Icr.Logical | 0x50);

        Assert.Equal(expected, await Drain(0x50));
    }

    [Theory]
    [InlineData(0x23u, new[] { 0, 1 })]
    [InlineData(0x22u, new[] { 1 })]
    [InlineData(0x12u, new int[0])]
    [InlineData(0x2Cu, new int[0])]
    [InlineData(0xFFu, new[] { 0, 1 })]
    public async Task H6_ClusterLogicalDestination_MatchesClusterAndMembers(uint destination, int[] expected)
    {
        await StartVm(2);
        await EnableAll();
        await W(0, Dfr, Values.DfrCluster);
        await W(1, Dfr, Values.DfrCluster);
        await W(0, Ldr, 0x2100_0000);
        await W(1, Ldr, 0x2200_0000);

        await Ipi(0, destination, Icr.Assert | Icr.Logical | 0x60);

        Assert.Equal(expected, await Drain(0x60));
    }

    [Fact]
    public async Task LdrWrite_IsRoutedBeforeTheWriteCompletes()
    {
        await StartVm(2);
        await EnableAll();
        await W(1, Ldr, 0x0800_0000);
        await Ipi(0, 0x08, Icr.Assert | Icr.Logical | 0x70);
        Assert.Equal(new[] { 1 }, await Drain(0x70));

        await W(1, Ldr, 0x1000_0000);
        await Ipi(0, 0x08, Icr.Assert | Icr.Logical | 0x71);
        Assert.Empty(await Drain(0x71));
    }

    [Theory]
    [InlineData(0x0000_0003u, new[] { 0, 1 })]
    [InlineData(0x0001_0002u, new[] { 3 })]
    [InlineData(0x0001_0003u, new[] { 2, 3 })]
    [InlineData(0x0002_0001u, new int[0])]
    [InlineData(0xFFFF_FFFFu, new[] { 0, 1, 2, 3 })]
    public async Task X2ApicClusterLogicalDestination_MatchesDerivedLdr(uint destination, int[] expected)
    {
        await StartVm(4, x2Apic: true, apicIds: [0x00, 0x01, 0x10, 0x11]);
        await EnableAll();
        Assert.Equal(0x0001_0002UL, await Rdmsr(3, ToMsr(Ldr)));

        await Wrmsr(0, ApicMsrs.X2ApicIcr, Icr.X2(destination, Icr.Assert | Icr.Logical | 0x80));

        Assert.Equal(expected, await Drain(0x80));
    }

    [Fact]
    public async Task X2ApicPhysical_ReachesIdsAbove255_AndAllOnesIsBroadcast()
    {
        await StartVm(3, x2Apic: true, apicIds: [0x0, 0x1234, 0xFFFF_FF00]);
        await EnableAll();

        await Wrmsr(0, ApicMsrs.X2ApicIcr, Icr.X2(0x1234, Icr.Assert | 0x90));
        Assert.Equal(new[] { 1 }, await Drain(0x90));
        await Wrmsr(1, ApicMsrs.X2ApicIcr, Icr.X2(0xFFFF_FF00, Icr.Assert | 0x91));
        Assert.Equal(new[] { 2 }, await Drain(0x91));
        await Wrmsr(2, ApicMsrs.X2ApicIcr, Icr.X2(0xFF, Icr.Assert | 0x92));
        Assert.Empty(await Drain(0x92));
        await Wrmsr(2, ApicMsrs.X2ApicIcr, Icr.X2(0xFFFF_FFFF, Icr.Assert | 0x93));
        Assert.Equal(new[] { 0, 1, 2 }, await Drain(0x93));
    }

    [Fact]
    public async Task X2ApicSelfIpi_ReachesOnlyTheSender()
    {
        await StartVm(2, x2Apic: true);
        await EnableAll();

        await Wrmsr(1, ApicMsrs.X2ApicSelfIpi, 0xA1);

        Assert.Equal(new[] { 1 }, await Drain(0xA1));
    }
}
