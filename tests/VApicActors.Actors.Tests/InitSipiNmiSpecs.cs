using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Registers.ApicOffsets;

namespace VApicActors.Actors.Tests;

/// <summary>Survey cases H10–H13 through the actors, and an INIT-SIPI-SIPI bring-up from boot=bsp.</summary>
public sealed class InitSipiNmiSpecs : VmSpecBase
{
    public InitSipiNmiSpecs(ITestOutputHelper output) : base(output)
    {
    }

    [Fact]
    public async Task H10_NmiAndSmiIpis_BypassIrrAndIsr()
    {
        await StartVm(2);
        await EnableAll();

        await Ipi(1, 0, Icr.Assert | Icr.Nmi | 0x77);
        var target = await Vm.SnapshotAsync(0);
        Assert.Equal(1, target.NmiCount);
        Assert.True(target.Irr.IsEmpty && target.Isr.IsEmpty && target.Tmr.IsEmpty);

        for (var i = 0; i < 10; i++)
        {
            await W(1, IcrLow, Icr.Assert | Icr.Nmi);
        }
        Assert.Equal(11, (await Vm.SnapshotAsync(0)).NmiCount);

        await W(1, IcrLow, Icr.Assert | Icr.Smi);
        target = await Vm.SnapshotAsync(0);
        Assert.Equal(1, target.SmiCount);
        Assert.True(target.Irr.IsEmpty && target.Isr.IsEmpty);
        Assert.Equal(0, (await Vm.SnapshotAsync(1)).NmiCount);
        Assert.Equal(11, Trace.Named("Nmi").Count);
    }

    [Fact]
    public async Task H11_H12_InitResetsTheTarget_ThenOnlyTheFirstSipiStartsIt()
    {
        await StartVm(3);
        await EnableAll();
        await W(1, Tpr, 0x30);
        await W(1, LvtTimer, 0x0002_00EE);
        await W(1, TimerInitialCount, 0x1000);
        await W(1, Ldr, 0x0200_0000);
        await Ipi(0, 1, Icr.Assert | 0x41);
        Assert.Equal(AccessResult.Of(0x41), await Vm.AcknowledgeAsync(1));
        Assert.NotNull((await Vm.SnapshotAsync(1)).TimerDueNs);

        await Ipi(0, 1, Icr.Assert | Icr.Init);

        var reset = await Vm.SnapshotAsync(1);
        Assert.Equal(VcpuRunState.WaitForSipi, reset.RunState);
        Assert.Equal(1u, reset.ApicId);
        Assert.Equal(0xFEE0_0800UL, reset.ApicBase);
        Assert.Equal(Values.SvrReset, reset.Svr);
        Assert.Equal((byte)0, reset.Tpr);
        Assert.Equal(0u, reset.Ldr);
        Assert.Equal(Values.DfrFlat, reset.Dfr);
        Assert.Equal(Values.LvtReset, reset.LvtTimer);
        Assert.Equal(Values.LvtReset, reset.LvtLint0);
        Assert.Equal(0u, reset.TimerInitialCount);
        Assert.True(reset.Irr.IsEmpty && reset.Isr.IsEmpty && reset.Tmr.IsEmpty);
        Assert.Null(reset.TimerDueNs);
        Assert.Equal(AccessStatus.NotRunning, (await Vm.ReadMmioAsync(1, Values.DefaultBase + Id, 4)).Status);
        // The cancelled timer never fires.
        await Vm.StepClockAsync(0x10_0000);
        Assert.Empty(Trace.Named("TimerFired"));

        // H11 step 3: INIT level de-assert changes nothing.
        await W(2, Tpr, 0x30);
        await Ipi(0, 2, Icr.LevelTrigger | Icr.Init);
        Assert.Equal(VcpuRunState.Running, (await Vm.SnapshotAsync(2)).RunState);
        Assert.Equal(0x30u, await R(2, Tpr));

        // H12: the first SIPI starts the AP at vector << 12; the second and one to a running vCPU are ignored.
        await Ipi(0, 1, Icr.Assert | Icr.StartUp | 0x9A);
        await Ipi(0, 1, Icr.Assert | Icr.StartUp | 0x9B);
        await Ipi(0, 2, Icr.Assert | Icr.StartUp | 0x9C);
        var started = await Vm.SnapshotAsync(1);
        Assert.Equal(VcpuRunState.Running, started.RunState);
        Assert.Equal(0x9A, started.SipiVector);
        Assert.True(started.Irr.IsEmpty && started.Isr.IsEmpty);
        Assert.Equal(-1, (await Vm.SnapshotAsync(2)).SipiVector);
        Assert.Equal(Icr.Destination(1), await R(1, Id));
    }

    [Fact]
    public async Task H11_InitOfALowestPriorityCandidate_IsRoutedBeforeTheInitCompletes()
    {
        await StartVm(3);
        await EnableAll();
        await W(0, Tpr, 0x30);
        await W(2, Tpr, 0x20);

        await Ipi(0, 1, Icr.Assert | Icr.Init);
        await Ipi(0, 0xFF, Icr.Assert | Icr.LowestPriority | 0x61);

        // vCPU 1 would win on priority, but INIT left it software-disabled: vCPU 2 gets the interrupt.
        Assert.Equal(new[] { 2 }, await Drain(0x61));
    }

    [Fact]
    public async Task H11_InitOfAnX2ApicKeepsItsModeIdAndLdr()
    {
        await StartVm(2, x2Apic: true, apicIds: [0, 0x123]);
        await EnableAll();

        await Wrmsr(0, ApicMsrs.X2ApicIcr, Icr.X2(0x123, Icr.Assert | Icr.Init));

        var reset = await Vm.SnapshotAsync(1);
        Assert.Equal(ApicMode.X2Apic, reset.Mode);
        Assert.Equal(0x123u, reset.ApicId);
        Assert.Equal(DestinationMatcher.X2ApicLdr(0x123), reset.Ldr);
        Assert.Equal(VcpuRunState.WaitForSipi, reset.RunState);
    }

    [Theory]
    [InlineData(Icr.Assert | Icr.Self | Icr.Nmi)]
    [InlineData(Icr.Assert | Icr.AllIncludingSelf | Icr.Nmi)]
    [InlineData(Icr.Assert | Icr.Self | Icr.Smi)]
    [InlineData(Icr.Assert | Icr.AllIncludingSelf | Icr.Init)]
    [InlineData(Icr.Assert | Icr.Self | Icr.Init)]
    [InlineData(Icr.Assert | Icr.Self | Icr.StartUp)]
    [InlineData(Icr.Assert | Icr.AllIncludingSelf | Icr.StartUp)]
    [InlineData(Icr.Assert | (0b011u << 8) | 0x40)]
    [InlineData(Icr.Assert | (0b111u << 8) | 0x40)]
    public async Task H13_InvalidCombinations_DeliverNothing(uint low)
    {
        await StartVm(2);
        await EnableAll();
        await W(0, Tpr, 0x20);
        await W(1, Tpr, 0x20);

        await Ipi(0, 1, low);

        foreach (var cpu in new[] { 0, 1 })
        {
            var s = await Vm.SnapshotAsync(cpu);
            Assert.Equal(VcpuRunState.Running, s.RunState);
            Assert.Equal((byte)0x20, s.Tpr);
            Assert.Equal(0, s.NmiCount);
            Assert.Equal(0, s.SmiCount);
            Assert.Equal(-1, s.SipiVector);
            Assert.True(s.Irr.IsEmpty);
        }
        Assert.Empty(Trace.Named("IpiSent"));
    }

    [Fact]
    public async Task H13_FixedIpiWithLevelDeassert_IsDeliveredEdgeTriggered()
    {
        await StartVm(2);
        await EnableAll();

        await Ipi(0, 1, Icr.LevelTrigger | 0x40);

        var target = await Vm.SnapshotAsync(1);
        Assert.True(target.Irr.Contains(0x40));
        Assert.False(target.Tmr.Contains(0x40));
    }

    [Fact]
    public async Task BootBsp_InitSipiSipi_BringsUpFourApplicationProcessors()
    {
        await StartVm(5, bootAll: false);
        for (var ap = 1; ap < 5; ap++)
        {
            Assert.Equal(VcpuRunState.WaitForSipi, (await Vm.SnapshotAsync(ap)).RunState);
            Assert.Equal(AccessStatus.NotRunning, (await Vm.ReadMmioAsync(ap, Values.DefaultBase + Id, 4)).Status);
            Assert.Equal(AccessStatus.NotRunning, (await Vm.ReadMsrAsync(ap, ApicMsrs.ApicBase)).Status);
        }
        Assert.Equal(0xFEE0_0900UL, await Rdmsr(0, ApicMsrs.ApicBase));
        await W(0, Svr, Values.SvrEnabled);

        await Ipi(0, 0, Icr.Assert | Icr.AllExcludingSelf | Icr.Init);
        await W(0, IcrLow, Icr.Assert | Icr.AllExcludingSelf | Icr.StartUp | 0x9F);
        await W(0, IcrLow, Icr.Assert | Icr.AllExcludingSelf | Icr.StartUp | 0x9F);

        Assert.Equal(VcpuRunState.Running, (await Vm.SnapshotAsync(0)).RunState);
        Assert.Equal(Values.SvrEnabled, await R(0, Svr));
        for (var ap = 1; ap < 5; ap++)
        {
            var s = await Vm.SnapshotAsync(ap);
            Assert.Equal(VcpuRunState.Running, s.RunState);
            Assert.Equal(0x9F, s.SipiVector);
            Assert.Equal(Icr.Destination((uint)ap), await R(ap, Id));
            Assert.Equal(0xFEE0_0800UL, await Rdmsr(ap, ApicMsrs.ApicBase));
        }
        Assert.Equal(4, Trace.Events.Count(e => e.Event == "Sipi" && e.Detail == nameof(AcceptOutcome.Started)));
        Assert.Equal(4, Trace.Events.Count(e => e.Event == "Sipi" && e.Detail == nameof(AcceptOutcome.DroppedNotWaitingForSipi)));

        // The APs work: an IPI from the last AP reaches the BSP.
        await W(4, Svr, Values.SvrEnabled);
        await Ipi(4, 0, Icr.Assert | 0x55);
        Assert.Equal(new[] { 0 }, await Drain(0x55));
    }
}
