using System.Collections.Immutable;
using Akka.Actor;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Actors.Protocol.ApicProtocol;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>A core run inside its vAPIC actor (<see cref="HostCore"/>): kicks, sequences of exits and messages as calls.</summary>
public sealed class HostedCoreSpecs : VmSpecBase
{
    public HostedCoreSpecs(ITestOutputHelper output) : base(output)
    {
    }

    /// <summary>Reports every call to a probe; on a kick takes one interrupt; runs the exits of a message it receives.</summary>
    private sealed class RecordingCore(IActorRef probe) : IHostedCore
    {
        private IHostedCoreContext? _context;

        public void Attached(IHostedCoreContext context) => _context = context;

        public void InterruptPending()
        {
            probe.Tell("kick");
            _context!.RunExits([Exit.AcknowledgeOne, Exit.EndOfInterruptOne]);
        }

        public void ExitsCompleted(ReadOnlySpan<AccessResult> results) => probe.Tell(results.ToArray());

        public void Receive(object message)
        {
            if (message is Exit[] exits)
            {
                _context!.RunExits([.. exits]);
            }
        }
    }

    private async Task Host(int cpu, IActorRef probe)
    {
        var done = await Vm.GetApicRef(cpu).Ask<AccessCompleted>(r => new HostCore(cpu, new RecordingCore(probe), 5, r), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(5, done.CorrelationId);
    }

    /// <summary>Three xAPIC vCPUs with flat logical IDs 1, 2 and 4, a recording core hosted on vCPU 0; its probe.</summary>
    private async Task<Akka.TestKit.TestProbe> HostOnVcpu0OfThree()
    {
        await StartVm(3);
        await EnableAll();
        for (var cpu = 0; cpu < 3; cpu++)
        {
            await W(cpu, Ldr, (1u << cpu) << 24);
        }
        var probe = CreateTestProbe();
        await Host(0, probe.Ref);
        return probe;
    }

    [Fact]
    public async Task AKick_AndTheSequenceItRuns_ReachTheHostedCore()
    {
        await StartVm(2, x2Apic: true);
        await EnableAll();
        var probe = CreateTestProbe();
        await Host(1, probe.Ref);

        await Wrmsr(0, ApicMsrs.X2ApicIcr, Icr.X2(1, Icr.Assert | 0x41));

        await probe.ExpectMsgAsync("kick");
        Assert.Equal(new[] { AccessResult.Of(0x41), AccessResult.Done }, await probe.ExpectMsgAsync<AccessResult[]>());
        Assert.True((await Vm.SnapshotAsync(1)).Isr.IsEmpty);
        var counters = await Vm.GetApicRef(1).Ask<CountersRead>(r => new GetCounters(1, 0, r), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(1, counters.Counters.Eoied);
    }

    [Fact]
    public async Task AnInterruptPendingWhenTheCoreIsHosted_KicksItAtOnce()
    {
        await StartVm(2, x2Apic: true);
        await EnableAll();
        await Wrmsr(0, ApicMsrs.X2ApicIcr, Icr.X2(1, Icr.Assert | 0x42));
        var probe = CreateTestProbe();

        await Host(1, probe.Ref);

        await probe.ExpectMsgAsync("kick");
        Assert.Equal(new[] { AccessResult.Of(0x42), AccessResult.Done }, await probe.ExpectMsgAsync<AccessResult[]>());
    }

    [Fact]
    public async Task ASequenceThatNeedsTheRouter_IsAnsweredAfterTheRouterIsDone()
    {
        var probe = await HostOnVcpu0OfThree();

        Vm.GetApicRef(0).Tell(new ToCore(0, new[]
        {
            Exit.WriteMmioOf(Values.DefaultBase + IcrHigh, 4, Icr.Destination(0x06)),
            Exit.WriteMmioOf(Values.DefaultBase + IcrLow, 4, Icr.Assert | Icr.LowestPriority | Icr.Logical | 0x41),
        }));

        Assert.Equal(new[] { AccessResult.Done, AccessResult.Done }, await probe.ExpectMsgAsync<AccessResult[]>());
        Assert.True((await Irr(1)).Contains(0x41) ^ (await Irr(2)).Contains(0x41));
    }

    [Fact]
    public async Task SequencesRunOneAfterAnother_EachAnswerHasItsOwnResults()
    {
        var probe = await HostOnVcpu0OfThree();
        var apic = Vm.GetApicRef(0);

        // Alternately a sequence answered at once and one whose last exit waits for the router (lowest priority),
        // the same sequences again each round: every answer carries the values its own exits read.
        for (var round = 1; round <= 3; round++)
        {
            var tpr = (ulong)round << 4;
            apic.Tell(new ToCore(0, new[] { Exit.WriteMmioOf(Values.DefaultBase + Tpr, 4, tpr), Exit.ReadMmioOf(Values.DefaultBase + Tpr, 4) }));
            Assert.Equal(new[] { AccessResult.Done, AccessResult.Of(tpr) }, await probe.ExpectMsgAsync<AccessResult[]>());
            apic.Tell(new ToCore(0, new[]
            {
                Exit.ReadMmioOf(Values.DefaultBase + Tpr, 4),
                Exit.WriteMmioOf(Values.DefaultBase + IcrHigh, 4, Icr.Destination(0x06)),
                Exit.WriteMmioOf(Values.DefaultBase + IcrLow, 4, Icr.Assert | Icr.LowestPriority | Icr.Logical | 0x41),
            }));
            Assert.Equal(new[] { AccessResult.Of(tpr), AccessResult.Done, AccessResult.Done }, await probe.ExpectMsgAsync<AccessResult[]>());
        }
    }
}
