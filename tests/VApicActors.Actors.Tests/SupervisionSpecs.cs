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
}
