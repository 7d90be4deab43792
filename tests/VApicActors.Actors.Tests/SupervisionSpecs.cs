using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>A fault in one vAPIC's handler is logged with its message and changes nothing else.</summary>
public sealed class SupervisionSpecs : VmSpecBase
{
    public SupervisionSpecs(ITestOutputHelper output) : base(output)
    {
    }

    [Fact]
    public async Task HandlerFault_IsLoggedWithItsMessage_AndKeepsThePageAndTheOtherVcpus()
    {
        await StartVm(3);
        await EnableAll();
        await W(1, Tpr, 0x20);
        await W(1, Ldr, 0x0200_0000);
        await Ipi(0, 1, Icr.Assert | 0x41);
        await Ipi(0, 1, Icr.Assert | 0x52);
        Assert.Equal(AccessResult.Of(0x52), await Vm.AcknowledgeAsync(1));
        var before = await Vm.SnapshotAsync(1);

        await EventFilter.Error(contains: "InjectFault").ExpectOneAsync(() =>
        {
            Vm.GetApicRef(1).Tell(new ApicProtocol.InjectFault(1, "injected for the test"));
            return Task.CompletedTask;
        });

        Assert.Equal(before, await Vm.SnapshotAsync(1));
        Assert.Equal(0x20u, await R(1, Tpr));
        Assert.Equal(0x0200_0000u, await R(1, Ldr));

        // The faulted vCPU still takes part in routing, and the others never noticed.
        await Ipi(2, 0x02, Icr.Assert | Icr.Logical | 0x61);
        Assert.Equal(new[] { 1 }, await Drain(0x61));
        await Ipi(1, 2, Icr.Assert | 0x62);
        Assert.Equal(new[] { 2 }, await Drain(0x62));
        Assert.Equal(Values.SvrEnabled, await R(0, Svr));
        Assert.Equal(Values.SvrEnabled, await R(2, Svr));
    }

    [Fact]
    public async Task VmThatCannotStart_FailsItsCreation()
    {
        var spec = new VmSpec("bad", 2, ApicIds: [1, 1]);

        await Assert.ThrowsAsync<ArgumentException>(() => VmHandle.CreateAsync(Sys, spec));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => VmHandle.CreateAsync(Sys, new VmSpec("bad", 1, ApicIds: [0x100])));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => VmHandle.CreateAsync(Sys, new VmSpec("bad", 0)));
    }

    [Fact]
    public async Task DisposedVm_StopsItsActors()
    {
        await StartVm(2);
        var apic = Vm.GetApicRef(1);
        Watch(apic);

        await Vm.DisposeAsync();

        await ExpectTerminatedAsync(apic);
    }

    [Fact]
    public async Task StoppedVm_AnswersTheRequestsItsRouterAndVcpusStillHeld()
    {
        await StartVm(3);
        await EnableAll();
        await W(0, IcrHigh, Icr.Destination(1));
        var probe = CreateTestProbe();
        // vCPU 1's actor stops first, as it may when the VM stops: the lowest-priority round that asks it for a bid
        // never ends, and what comes to the router after it waits.
        var stopping = Vm.GetApicRef(1);
        Watch(stopping);
        stopping.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(stopping);

        Vm.GetPort(0).WriteMmio(Values.DefaultBase + IcrLow, 4, Icr.LowestPriority | 0x50, 1, probe.Ref);
        await AwaitConditionAsync(() => Task.FromResult(Trace.Named("IpiSent").Any(e => e.ApicId == 0)));
        await Task.Delay(200);
        Vm.Router.Tell(new RouterProtocol.RouteMsi(Values.MsiAddress(2), 0x51, 2, probe.Ref));
        Vm.GetApicRef(2).Tell(new ApicProtocol.RunExits(2,
            [ApicProtocol.Exit.WriteMmioOf(Values.DefaultBase + IcrLow, 4, Icr.Nmi), ApicProtocol.Exit.ReadMmioOf(Values.DefaultBase + Id, 4)],
            3, probe.Ref));
        await AwaitConditionAsync(() => Task.FromResult(Trace.Named("IpiSent").Any(e => e.ApicId == 2)));
        await Task.Delay(200);
        probe.ExpectNoMsg(TimeSpan.Zero);

        await Vm.DisposeAsync();

        for (var i = 0; i < 3; i++)
        {
            await probe.ExpectMsgAsync<Status.Failure>();
        }
    }

    [Fact]
    public async Task StoppedVm_AnswersAClockStepStillWaitingForAVcpu()
    {
        await StartVm(2);
        await EnableAll();
        await W(1, LvtTimer, 0x30);
        await W(1, TimerDivide, Values.DivideBy1);
        await W(1, TimerInitialCount, 1000);
        var probe = CreateTestProbe();
        // vCPU 1's actor stops first, as it may when the VM stops: the step that waits for its expiry never ends.
        var stopping = Vm.GetApicRef(1);
        Watch(stopping);
        stopping.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(stopping);
        Vm.Vm.Tell(new VmProtocol.StepClock(5000), probe.Ref);
        await Task.Delay(200);
        probe.ExpectNoMsg(TimeSpan.Zero);

        await Vm.DisposeAsync();

        await probe.ExpectMsgAsync<Status.Failure>();
    }
}
