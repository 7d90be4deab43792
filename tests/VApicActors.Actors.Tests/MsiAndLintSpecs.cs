using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>Device MSIs through the router, LINT pins, and EOI messages toward the I/O APICs.</summary>
public sealed class MsiAndLintSpecs : VmSpecBase
{
    public MsiAndLintSpecs(ITestOutputHelper output) : base(output)
    {
    }

    [Fact]
    public async Task Msi_PhysicalLogicalAndBroadcast_ReachTheirDestinations()
    {
        await StartVm(3);
        await EnableAll();
        await W(0, Ldr, 0x0100_0000);
        await W(2, Ldr, 0x0400_0000);

        await Vm.SendMsiAsync(Values.MsiAddress(1) | (1 << 3), 0x31);
        Assert.Equal(new[] { 1 }, await Drain(0x31));
        await Vm.SendMsiAsync(Values.MsiAddress(0x05, logical: true), 0x32);
        Assert.Equal(new[] { 0, 2 }, await Drain(0x32));
        await Vm.SendMsiAsync(Values.MsiAddress(0xFF), 0x33);
        Assert.Equal(new[] { 0, 1, 2 }, await Drain(0x33));
        Assert.All(Trace.Named("Msi"), e => Assert.Null(e.Source));
    }

    [Fact]
    public async Task Msi_ThatIsNoInterrupt_DeliversNothing()
    {
        await StartVm(2, bootAll: false);
        await W(0, Svr, Values.SvrEnabled);

        await Vm.SendMsiAsync(0xFED0_0000, 0x34);
        await Vm.SendMsiAsync(Values.MsiAddress(0), Values.MsiLevelTrigger | 0x35);
        await Vm.SendMsiAsync(Values.MsiAddress(1), (0b110 << 8) | 0x10);

        var target = await Vm.SnapshotAsync(0);
        Assert.True(target.Irr.IsEmpty);
        Assert.Equal(VcpuRunState.WaitForSipi, (await Vm.SnapshotAsync(1)).RunState);
        Assert.Empty(Trace.Named("Msi"));
    }

    [Fact]
    public async Task Msi_NmiMode_CountsAnNmi()
    {
        await StartVm(2);

        await Vm.SendMsiAsync(Values.MsiAddress(1), 0b100 << 8);

        Assert.Equal(1, (await Vm.SnapshotAsync(1)).NmiCount);
    }

    [Fact]
    public async Task Msi_Broadcast0xFF_ReachesX2ApicTargetsToo()
    {
        await StartVm(3, x2Apic: true, apicIds: [0x100, 0x200, 0x300]);
        await EnableAll();

        await Vm.SendMsiAsync(Values.MsiAddress(0xFF), 0x36);

        Assert.Equal(new[] { 0, 1, 2 }, await Drain(0x36));
    }

    [Fact]
    public async Task LevelTriggeredMsi_SetsTmr_AndItsEoiIsBroadcastUnlessSuppressed()
    {
        await StartVm(2);
        await EnableAll();
        var levelAssert = Values.MsiLevelTrigger | Values.MsiLevelAssert;

        await Vm.SendMsiAsync(Values.MsiAddress(1), levelAssert | 0x61);
        Assert.True((await Vm.SnapshotAsync(1)).Tmr.Contains(0x61));
        Assert.Equal(new[] { 1 }, await Drain(0x61));
        Assert.Equal(new byte[] { 0x61 }, await Vm.TakeEoiBroadcastsAsync());
        Assert.Empty(await Vm.TakeEoiBroadcastsAsync());

        await Vm.SendMsiAsync(Values.MsiAddress(1), 0x62);
        Assert.Equal(new[] { 1 }, await Drain(0x62));
        await W(1, Svr, Values.SvrEnabledSuppressEoi);
        await Vm.SendMsiAsync(Values.MsiAddress(1), levelAssert | 0x63);
        Assert.Equal(new[] { 1 }, await Drain(0x63));
        Assert.Empty(await Vm.TakeEoiBroadcastsAsync());
        Assert.Single(Trace.Named("EoiBroadcast"));
    }

    [Fact]
    public async Task Lint1InNmiMode_DeliversAnNmiOnTheRisingEdge_UnlessMasked()
    {
        await StartVm(2);
        await EnableAll();
        await W(1, LvtLint1, Values.LvtNmi);

        await Vm.SetLintAsync(1, 1, true);
        await Vm.SetLintAsync(1, 1, true);
        Assert.Equal(1, (await Vm.SnapshotAsync(1)).NmiCount);
        await Vm.SetLintAsync(1, 1, false);
        await W(1, LvtLint1, Values.LvtMasked | Values.LvtNmi);
        await Vm.SetLintAsync(1, 1, true);

        Assert.Equal(1, (await Vm.SnapshotAsync(1)).NmiCount);
        Assert.Equal(0, (await Vm.SnapshotAsync(0)).NmiCount);
    }

    [Fact]
    public async Task Lint0LevelFixed_SetsRemoteIrr_AndFiresAgainAfterEoiWhileActive()
    {
        await StartVm(1);
        await EnableAll();
        await W(0, LvtLint0, Values.LvtLevel | 0x31);

        await Vm.SetLintAsync(0, 0, true);
        var s = await Vm.SnapshotAsync(0);
        Assert.True(s.Irr.Contains(0x31) && s.Tmr.Contains(0x31));
        Assert.Equal(Values.LvtRemoteIrr, await R(0, LvtLint0) & Values.LvtRemoteIrr);

        Assert.Equal(new[] { 0 }, await Drain(0x31));
        Assert.Equal(new byte[] { 0x31 }, await Vm.TakeEoiBroadcastsAsync());
        Assert.True((await Irr(0)).Contains(0x31));

        await Vm.SetLintAsync(0, 0, false);
        Assert.Equal(new[] { 0 }, await Drain(0x31));
        Assert.True((await Irr(0)).IsEmpty);
        Assert.Equal(0u, await R(0, LvtLint0) & Values.LvtRemoteIrr);
        Assert.Contains(Trace.Events, e => e.Event == "Lint" && e.Register == "LVT0" && e.Detail == nameof(AcceptOutcome.Accepted));
    }

    [Fact]
    public async Task LintPins_WorkOnAVcpuWaitingForSipi()
    {
        await StartVm(2, bootAll: false);

        await Vm.SetLintAsync(1, 1, true);

        Assert.Equal(VcpuRunState.WaitForSipi, (await Vm.SnapshotAsync(1)).RunState);
        Assert.Contains(Trace.Events, e => e.Event == "Lint" && e.Register == "LINT1" && e.Value == 1);
    }

    [Fact]
    public async Task PerformanceCounterInterrupt_GoesThroughIrr_AndMasksItsLvt()
    {
        await StartVm(1);
        await EnableAll();
        await W(0, LvtPmc, 0xF0);

        await Vm.RaiseLocalAsync(0, LvtSource.PerformanceCounter);

        Assert.Equal(new[] { 0 }, await Drain(0xF0));
        Assert.Equal(Values.LvtMasked | 0xF0, await R(0, LvtPmc));
        await Vm.RaiseLocalAsync(0, LvtSource.PerformanceCounter);
        Assert.True((await Irr(0)).IsEmpty);
        Assert.Equal(new[] { "Accepted", "Dropped" }, Trace.Events.Where(e => e.Register == "LVTPC" && e.Event is not ("MmioWrite" or "MmioRead" or "LocalRaised")).Select(e => e.Event));
    }

    [Fact]
    public async Task LocalSourceOnAHardwareDisabledApic_IsTracedAndCountedAsDropped()
    {
        await StartVm(1);
        await EnableAll();
        await Wrmsr(0, ApicMsrs.ApicBase, await Rdmsr(0, ApicMsrs.ApicBase) & ~(1UL << 11)); // IA32_APIC_BASE.EN

        await Vm.RaiseLocalAsync(0, LvtSource.Thermal);

        var dropped = Assert.Single(Trace.Events, e => e.Register == "LVTTHMR" && e.Event == "Dropped");
        Assert.Equal(nameof(AcceptOutcome.DroppedHardwareDisabled), dropped.Detail);
        var counters = (await Vm.GetApicRef(0).Ask<ApicProtocol.CountersRead>(r => new ApicProtocol.GetCounters(0, 0, r), TimeSpan.FromSeconds(5), CancellationToken.None)).Counters;
        Assert.Equal(1, counters.LocalOutcomes[(int)AcceptOutcome.DroppedHardwareDisabled]);
        Assert.Equal(1, counters.Dropped);
    }
}
