using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;

namespace VApicActors.Actors.Tests;

public sealed class InterruptSubscriptionSpecs(ITestOutputHelper output) : VmSpecBase(output)
{
    private const byte Vector = 0x41;
    private const byte HigherVector = 0x61;
    private const uint TprBlockingClass4 = 0x40;

    private async Task Subscribe(int cpu, IActorRef subscriber, bool subscribe = true)
    {
        var reply = await Vm.GetApicRef(cpu).Ask<ApicProtocol.AccessCompleted>(
            r => new ApicProtocol.SubscribeInterrupts(cpu, subscriber, subscribe, 7, r), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(7, reply.CorrelationId);
    }

    [Fact]
    public async Task SubscribeInterrupts_IpiBecomesDeliverable_EverySubscriberHearsTheVector()
    {
        await StartVm(2);
        await EnableAll();
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        await Subscribe(1, first.Ref);
        await Subscribe(1, second.Ref);

        await Ipi(0, 1, Icr.Fixed | Icr.Assert | Vector);

        await first.ExpectMsgAsync(new ApicProtocol.InterruptDeliverable(1, Vector));
        await second.ExpectMsgAsync(new ApicProtocol.InterruptDeliverable(1, Vector));
    }

    [Fact]
    public async Task SubscribeInterrupts_OnlyANewPresentedVectorIsReported()
    {
        await StartVm(2);
        await EnableAll();
        var probe = CreateTestProbe();
        await Subscribe(1, probe.Ref);

        // Blocked by TPR: accepted into IRR but not presented, so nothing is reported until TPR drops.
        await W(1, ApicOffsets.Tpr, TprBlockingClass4);
        await Ipi(0, 1, Icr.Fixed | Icr.Assert | Vector);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        await W(1, ApicOffsets.Tpr, 0);
        await probe.ExpectMsgAsync(new ApicProtocol.InterruptDeliverable(1, Vector));

        // A higher vector takes over the presentation.
        await Ipi(0, 1, Icr.Fixed | Icr.Assert | HigherVector);
        await probe.ExpectMsgAsync(new ApicProtocol.InterruptDeliverable(1, HigherVector));
    }

    [Fact]
    public async Task SubscribeInterrupts_Unsubscribed_HearsNothingMore()
    {
        await StartVm(2);
        await EnableAll();
        var probe = CreateTestProbe();
        await Subscribe(1, probe.Ref);
        await Subscribe(1, probe.Ref, subscribe: false);

        await Ipi(0, 1, Icr.Fixed | Icr.Assert | Vector);

        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        Assert.Equal([Vector], (await Irr(1)).Vectors().Select(v => (byte)v));
    }
}
