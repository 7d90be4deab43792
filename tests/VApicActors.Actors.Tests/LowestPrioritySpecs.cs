using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>Survey case H14 as the profile decides it (decision 6): exactly one receiver, chosen by an arbitration round.</summary>
public sealed class LowestPrioritySpecs : VmSpecBase
{
    private const uint LowestLogical = Icr.Assert | Icr.LowestPriority | Icr.Logical;

    public LowestPrioritySpecs(ITestOutputHelper output) : base(output)
    {
    }

    private async Task FlatLdrs()
    {
        for (var cpu = 0; cpu < Vm.VcpuCount; cpu++)
        {
            await W(cpu, Ldr, (1u << cpu) << 24);
        }
    }

    [Fact]
    public async Task H14_ManyRoundsAtOnce_EveryIpiReachesOneTarget_AndWhatWaitedIsAnswered()
    {
        // Every vCPU sends lowest-priority IPIs without waiting, with MSIs and exits addressed by APIC ID among them:
        // most arrive at the router while a round is in progress, wait, and are taken up in order once it ends.
        await StartVm(8, x2Apic: true);
        await EnableAll();
        var pending = new List<Task>();
        var vector = 0x40;
        for (var k = 0; k < 8; k++)
        {
            for (var cpu = 0; cpu < 8; cpu++)
            {
                pending.Add(Vm.WriteMsrAsync(cpu, ApicMsrs.X2ApicIcr, (0xFFul << 32) | LowestLogical | (uint)vector++));
            }
            pending.Add(Vm.SendMsiAsync(Values.DefaultBase | ((ulong)k << 12), 0xC0u + (uint)k));
            var reader = k;
            pending.Add(Vm.Router.Ask<ApicProtocol.AccessCompleted>(
                r => new RouterProtocol.DispatchToApic((uint)reader, new ApicProtocol.ReadMsr(reader, ApicOffsets.ToMsr(Id), 0, r)),
                TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(t => Assert.Equal((ulong)reader, t.Result.Result.Value)));
        }
        await Task.WhenAll(pending);
        await Settle();

        var accepted = Trace.Events.Where(e => e.Event == "Accepted" && e.Source is not null).ToList();
        for (var v = 0x40; v < vector; v++)
        {
            Assert.Single(accepted, e => e.Vector == v);
        }
        for (var k = 0; k < 8; k++)
        {
            Assert.Single(Trace.Events, e => e.Event == "Msi" && e.Vector == 0xC0 + k && e.ApicId == (uint)k);
        }
    }

    [Fact]
    public async Task H14_TheLowestPprWins()
    {
        await StartVm(2);
        await EnableAll();
        await FlatLdrs();
        await W(0, Tpr, 0x20);
        await W(1, Tpr, 0x10);

        await Ipi(0, 0x03, LowestLogical | 0x41);

        Assert.Equal(new[] { 1 }, await Drain(0x41));
        Assert.Equal(1, (await Deliveries(0x41)).Values.Sum());
    }

    [Fact]
    public async Task H14_RepeatedIpisToEqualPriorityTargets_RotateInApicIdOrder()
    {
        await StartVm(3, apicIds: [4, 2, 9]);
        await EnableAll();
        await FlatLdrs();

        var winners = new List<uint>();
        for (var i = 0; i < 5; i++)
        {
            var vector = 0x41 + i;
            await Ipi(0, 0x07, LowestLogical | (uint)vector);
            var receivers = await Drain(vector);
            winners.Add((await Vm.SnapshotAsync(Assert.Single(receivers))).ApicId);
        }

        // Before any winner, the lowest ID; then round robin after the previous winner.
        Assert.Equal(new uint[] { 2, 4, 9, 2, 4 }, winners);
    }

    [Fact]
    public async Task H14_ABroadcastDestination_StillReachesExactlyOne()
    {
        await StartVm(4);
        await EnableAll();
        await W(0, Tpr, 0x40);
        await W(1, Tpr, 0x30);
        await W(3, Tpr, 0x30);

        await Ipi(0, 0xFF, Icr.Assert | Icr.LowestPriority | 0x51);
        Assert.Equal(new[] { 2 }, await Drain(0x51));
        await Ipi(0, 0, Icr.Assert | Icr.LowestPriority | Icr.AllIncludingSelf | 0x52);
        Assert.Equal(new[] { 2 }, await Drain(0x52));
        Assert.Equal(2, Trace.Events.Count(e => e.Event == "Accepted" && e.Vector is 0x51 or 0x52));
    }

    [Fact]
    public async Task H14_SoftwareDisabledApics_AreNeverChosen()
    {
        await StartVm(3);
        await W(0, Svr, Values.SvrEnabled);
        await W(1, Svr, Values.SvrEnabled);
        await W(0, Tpr, 0x40);
        await W(1, Tpr, 0x30);

        for (var i = 0; i < 3; i++)
        {
            await Ipi(0, 0xFF, Icr.Assert | Icr.LowestPriority | (uint)(0x61 + i));
            Assert.Equal(new[] { 1 }, await Drain(0x61 + i));
        }
    }

    [Fact]
    public async Task H14_AFocusProcessor_WinsOverLowerPriority_UnlessFocusCheckingIsOff()
    {
        await StartVm(3);
        await EnableAll();
        await W(1, Tpr, 0x30);
        await Ipi(0, 1, Icr.Assert | 0x71);

        await Ipi(0, 0xFF, Icr.Assert | Icr.LowestPriority | 0x71);
        Assert.Equal(2, (await Deliveries(0x71))[1]);

        // Without focus checking the lowest PPR wins: vCPUs 0 and 2 tie, and the round robin goes on after
        // the previous winner (APIC 1).
        await W(1, Svr, Values.SvrEnabledFocusOff);
        await Ipi(0, 0xFF, Icr.Assert | Icr.LowestPriority | 0x71);
        Assert.Equal(1, (await Deliveries(0x71))[2]);
        Assert.False((await Deliveries(0x71)).ContainsKey(0));
    }

    [Fact]
    public async Task H14_NoEligibleCandidate_DeliversNothing()
    {
        await StartVm(2);
        await W(0, Svr, Values.SvrEnabled);

        await Ipi(0, 1, Icr.Assert | Icr.LowestPriority | 0x81);

        Assert.Empty(await Drain(0x81));
        Assert.DoesNotContain(Trace.Events, e => e.Vector == 0x81 && e.Event != "IpiSent");
    }

    [Fact]
    public async Task LowestPriorityMsi_SharesTheRotationWithIpis()
    {
        await StartVm(2);
        await EnableAll();
        await FlatLdrs();

        await Vm.SendMsiAsync(Values.MsiAddress(0x03, logical: true), (0b001 << 8) | 0x91);
        Assert.Equal(new[] { 0 }, await Drain(0x91));
        await Ipi(0, 0x03, LowestLogical | 0x92);
        Assert.Equal(new[] { 1 }, await Drain(0x92));
        await Vm.SendMsiAsync(Values.MsiAddress(0x03, logical: true), (0b001 << 8) | 0x93);
        Assert.Equal(new[] { 0 }, await Drain(0x93));
    }

    [Fact]
    public async Task LowestPriorityWithSelfShorthand_GoesToTheSender()
    {
        await StartVm(2);
        await EnableAll();
        await W(0, Tpr, 0x40);

        await Ipi(0, 1, Icr.Assert | Icr.LowestPriority | Icr.Self | 0xA1);

        Assert.Equal(new[] { 0 }, await Drain(0xA1));
    }
}
