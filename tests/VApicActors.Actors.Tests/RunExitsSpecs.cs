using System.Collections.Immutable;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Actors.Protocol.ApicProtocol;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>A sequence of exits (<see cref="RunExits"/>): each exit as its own request would be, one answer.</summary>
public sealed class RunExitsSpecs : VmSpecBase
{
    private const uint LowestLogical = Icr.Assert | Icr.LowestPriority | Icr.Logical;

    public RunExitsSpecs(ITestOutputHelper output) : base(output)
    {
    }

    private async Task<ImmutableArray<AccessResult>> Run(int cpu, long correlationId, params Exit[] exits)
    {
        var probe = CreateTestProbe();
        Vm.GetApicRef(cpu).Tell(new RunExits(cpu, [.. exits], correlationId, probe.Ref), probe.Ref);
        var done = await probe.ExpectMsgAsync<ExitsCompleted>();
        Assert.Equal(cpu, done.Vcpu);
        Assert.Equal(correlationId, done.CorrelationId);
        return done.Results;
    }

    [Fact]
    public async Task TheExitsAreHandledInOrder_AndAWriteCanTakeTheValueAnEarlierExitRead()
    {
        await StartVm(2, x2Apic: true);
        await EnableAll();

        var results = await Run(1, 7,
            Exit.ReadMsrOf(0x802),
            Exit.WriteMsrFrom(0x808, 0),
            Exit.ReadMsrOf(0x808),
            Exit.WriteMsrOf(ApicMsrs.X2ApicIcr, Icr.X2(0, Icr.Assert | 0x41)));

        Assert.Equal(new[] { AccessResult.Of(1), AccessResult.Done, AccessResult.Of(1), AccessResult.Done }, results);
        Assert.Equal(1UL, await Rdmsr(1, 0x808));
        // The answer leaves after the IPI is in place.
        Assert.True((await Irr(0)).Contains(0x41));
    }

    [Fact]
    public async Task TheSequenceStopsAfterTheFirstExitThatIsNotOk()
    {
        await StartVm(2, x2Apic: true);
        await EnableAll();
        await Wrmsr(1, ApicMsrs.X2ApicIcr, Icr.X2(0, Icr.Assert | 0x41));

        var take = new[] { Exit.AcknowledgeOne, Exit.EndOfInterruptOne, Exit.AcknowledgeOne, Exit.EndOfInterruptOne };
        Assert.Equal(new[] { AccessResult.Of(0x41), AccessResult.Done, AccessResult.Nothing }, await Run(0, 1, take));
        Assert.Equal(new[] { AccessResult.Nothing }, await Run(0, 2, take));

        // WRMSR of the read-only x2APIC ID: #GP, and the TPR write behind it is not made.
        var faulted = await Run(0, 3, Exit.ReadMsrOf(0x808), Exit.WriteMsrOf(0x802, 5), Exit.WriteMsrOf(0x808, 0x30));
        Assert.Equal(new[] { AccessResult.Of(0), AccessResult.Fault }, faulted);
        Assert.Equal(0UL, await Rdmsr(0, 0x808));
        Assert.Empty(await Run(0, 4));
    }

    [Fact]
    public async Task AnExitThatNeedsTheRouter_IsCompleteBeforeTheNextExit_AndSequencesKeepTheirOrder()
    {
        await StartVm(3);
        await EnableAll();
        for (var cpu = 0; cpu < 3; cpu++)
        {
            await W(cpu, Ldr, (1u << cpu) << 24);
        }
        var probe = CreateTestProbe();
        var apic = Vm.GetApicRef(0);
        // Two lowest-priority IPIs (each an arbitration round at the router), the second sequence sent at once.
        apic.Tell(new RunExits(0,
        [
            Exit.WriteMmioOf(Values.DefaultBase + IcrHigh, 4, Icr.Destination(0x06)),
            Exit.WriteMmioOf(Values.DefaultBase + IcrLow, 4, LowestLogical | 0x41),
            Exit.ReadMmioOf(Values.DefaultBase + IcrHigh, 4),
        ], 1, probe.Ref), probe.Ref);
        apic.Tell(new RunExits(0,
        [
            Exit.WriteMmioOf(Values.DefaultBase + IcrLow, 4, LowestLogical | 0x42),
        ], 2, probe.Ref), probe.Ref);

        var first = await probe.ExpectMsgAsync<ExitsCompleted>();
        Assert.Equal(1, first.CorrelationId);
        Assert.Equal(new[] { AccessResult.Done, AccessResult.Done, AccessResult.Of(Icr.Destination(0x06)) }, first.Results);
        var second = await probe.ExpectMsgAsync<ExitsCompleted>();
        Assert.Equal(2, second.CorrelationId);
        Assert.Equal(new[] { AccessResult.Done }, second.Results);

        // Each IPI reached exactly one of vCPUs 1 and 2 before its sequence was answered.
        var irr1 = await Irr(1);
        var irr2 = await Irr(2);
        Assert.True(irr1.Contains(0x41) ^ irr2.Contains(0x41));
        Assert.True(irr1.Contains(0x42) ^ irr2.Contains(0x42));
        var sent = Trace.Events.Where(e => e.Event == "IpiSent").Select(e => e.Vector).ToList();
        Assert.Equal(new int?[] { 0x41, 0x42 }, sent);
    }
}
