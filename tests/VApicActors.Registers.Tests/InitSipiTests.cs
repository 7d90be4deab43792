using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>INIT and Start-up at the receiving APIC (SDM 10.4.7.3, 10.6.1; profile "INIT / SIPI").</summary>
public sealed class InitSipiTests
{
    private static ApicHarness ConfiguredAp()
    {
        var h = ApicHarness.XApic(1, bsp: false);
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.TimerDivide, 0x3);
        h.W(ApicOffsets.TimerInitialCount, 0x1000);
        h.W(ApicOffsets.Ldr, 0x0200_0000);
        h.W(ApicOffsets.Dfr, 0);
        h.W(ApicOffsets.LvtLint0, LvtLevel | 0x31);
        h.W(ApicOffsets.LvtError, 0xFE);
        h.PutInService(0x61, TriggerMode.Level);
        h.Inject(0x45);
        h.W(ApicOffsets.Tpr, 0x30);
        h.R(0x040);
        h.W(ApicOffsets.Esr, 0);
        h.W(ApicOffsets.IcrHigh, 0x0300_0000);
        h.Fx.Clear();
        return h;
    }

    [Fact]
    public void Accept_InitOnAp_ResetsRegistersKeepsIdAndWaitsForSipi()
    {
        using var h = ConfiguredAp();

        Assert.Equal(AcceptOutcome.InitReset, h.Accept(InterruptMessage.Init));

        Assert.Equal(VcpuRunState.WaitForSipi, h.Apic.RunState);
        Assert.Equal(ApXApic, h.Apic.ApicBase);
        var s = h.Apic.Snapshot(h.Now);
        Assert.Equal(1u, s.ApicId);
        Assert.Equal(0, s.Tpr);
        Assert.Equal(0, s.Ppr);
        Assert.Equal(SvrReset, s.Svr);
        Assert.Equal(LvtReset, s.LvtTimer);
        Assert.Equal(LvtReset, s.LvtLint0);
        Assert.Equal(LvtReset, s.LvtLint1);
        Assert.Equal(LvtReset, s.LvtError);
        Assert.Equal(0u, s.Ldr);
        Assert.Equal(DfrReset, s.Dfr);
        Assert.Equal(0u, s.Esr);
        Assert.Equal(0u, s.TimerInitialCount);
        Assert.Equal(0u, s.TimerCurrentCount);
        Assert.Equal(0u, s.TimerDivide);
        Assert.True(s.Irr.IsEmpty);
        Assert.True(s.Isr.IsEmpty);
        Assert.True(s.Tmr.IsEmpty);
        Assert.Null(s.TimerDueNs);
        Assert.Equal(1, h.Fx.Cancels);
        Assert.Equal(new ApicRoutingIdentity(0, 1, ApicMode.XApic, false, 0, ApicRoutingIdentity.FlatModel), h.Fx.RoutingChanges[^1]);
        Assert.Equal(0u, h.Apic.Page[ApicOffsets.IcrHigh]);
        Assert.Equal(LvtReset, h.Apic.Page[ApicOffsets.LvtCmci]);
    }

    [Fact]
    public void Accept_InitWithTscDeadlineArmed_DisarmsItAndTheDeadlineIsGone()
    {
        // INIT returns the timer to its power-on state: an armed TSC deadline never fires afterwards.
        using var h = ApicHarness.XApic(1, bsp: false);
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEE);
        h.WrmsrOk(ApicMsrs.TscDeadline, 4000);
        h.Fx.Clear();

        Assert.Equal(AcceptOutcome.InitReset, h.Accept(InterruptMessage.Init));

        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(1, h.Fx.Cancels);
        Assert.False(h.Apic.ExpireTimer(10_000, h.Fx));
        Assert.Equal(AcceptOutcome.Started, h.Accept(InterruptMessage.StartUp(0x10)));
        h.W(ApicOffsets.Svr, SvrEnabled);
        h.W(ApicOffsets.LvtTimer, TimerTscDeadline | 0xEE);
        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.TscDeadline));
        Assert.Null(h.Apic.TimerDue);
        Assert.Empty(h.Fx.Local);
    }

    [Fact]
    public void Accept_InitThenSipi_StartsAtTheVectorAndIgnoresTheSecond()
    {
        using var h = ConfiguredAp();
        h.Accept(InterruptMessage.Init);

        Assert.Equal(AcceptOutcome.Started, h.Accept(InterruptMessage.StartUp(0x9A)));
        Assert.Equal(VcpuRunState.Running, h.Apic.RunState);
        Assert.Equal(0x9A, h.Apic.SipiVector);
        Assert.Equal(0x9A000, h.Apic.SipiVector << 12);

        Assert.Equal(AcceptOutcome.DroppedNotWaitingForSipi, h.Accept(InterruptMessage.StartUp(0x9B)));
        Assert.Equal(0x9A, h.Apic.SipiVector);
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.True(h.Apic.Isr.IsEmpty);
    }

    [Fact]
    public void Accept_SipiToRunningVcpu_IsIgnored()
    {
        using var h = ApicHarness.XApic(1, bsp: false);

        Assert.Equal(AcceptOutcome.DroppedNotWaitingForSipi, h.Accept(InterruptMessage.StartUp(0x10)));
        Assert.True(h.Apic.SipiVector < 0);
        Assert.Equal(VcpuRunState.Running, h.Apic.RunState);
    }

    [Fact]
    public void Accept_InitOnBsp_ResetsAndKeepsRunning()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Tpr, 0x40);

        Assert.Equal(AcceptOutcome.InitReset, h.Accept(InterruptMessage.Init));

        Assert.Equal(VcpuRunState.Running, h.Apic.RunState);
        Assert.Equal(0u, h.R(ApicOffsets.Tpr));
        Assert.Equal(BspXApic, h.Apic.ApicBase);
    }

    [Fact]
    public void Accept_InitInX2ApicMode_StaysX2ApicWithSameIdAndLdr()
    {
        using var h = ApicHarness.X2Apic(0x23, bsp: false);
        h.WrmsrOk(0x808, 0x40);

        h.Accept(InterruptMessage.Init);
        h.Accept(InterruptMessage.StartUp(0));

        Assert.Equal(ApicMode.X2Apic, h.Apic.Mode);
        Assert.Equal(ApX2Apic, h.RdmsrOk(ApicMsrs.ApicBase));
        Assert.Equal(0x23ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Id)));
        Assert.Equal(0x0002_0008ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Ldr)));
        Assert.Equal(0ul, h.RdmsrOk(0x808));
        Assert.Equal((ulong)SvrReset, h.RdmsrOk(0x80F));
    }

    [Fact]
    public void Accept_InitLevelDeassert_IsIgnored()
    {
        using var h = ConfiguredAp();
        var before = h.Apic.Snapshot(h.Now);

        Assert.Equal(AcceptOutcome.DroppedNoEffect, h.Accept(new InterruptMessage(DeliveryMode.Init, 0, TriggerMode.Level, false)));

        Assert.Equal(before, h.Apic.Snapshot(h.Now));
    }

    [Fact]
    public void Accept_InitEdgeWithLevelBitClear_IsAnInit()
    {
        using var h = ConfiguredAp();

        Assert.Equal(AcceptOutcome.InitReset, h.Accept(new InterruptMessage(DeliveryMode.Init, 0, TriggerMode.Edge, false)));
        Assert.Equal(VcpuRunState.WaitForSipi, h.Apic.RunState);
    }

    [Fact]
    public void WaitForSipi_GuestActionsReportNotRunningAndChangeNothing()
    {
        using var h = ConfiguredAp();
        h.Accept(InterruptMessage.Init);
        var before = h.Apic.Snapshot(h.Now);

        Assert.Equal(AccessResult.NotRunning, h.Read(ApicOffsets.Version));
        Assert.Equal(AccessResult.NotRunning, h.Write(ApicOffsets.Svr, SvrEnabled));
        Assert.Equal(AccessResult.NotRunning, h.Rdmsr(ApicMsrs.ApicBase));
        Assert.Equal(AccessResult.NotRunning, h.Wrmsr(ApicMsrs.ApicBase, ApDisabled));
        Assert.Equal(AccessResult.NotRunning, h.Apic.Acknowledge(h.Now, h.Fx));
        Assert.Equal(AccessResult.NotRunning, h.Apic.Eoi(h.Now, h.Fx));
        Assert.Equal(AccessResult.NotRunning, h.Apic.ReadTsc(h.Now));

        Assert.Equal(before, h.Apic.Snapshot(h.Now));
    }

    [Fact]
    public void WaitForSipi_NmiAndSmiAreDroppedAndCountsSurviveInit()
    {
        using var h = ApicHarness.XApic(1, bsp: false);
        h.Accept(InterruptMessage.Nmi);
        h.Accept(InterruptMessage.Smi);
        h.Accept(InterruptMessage.Init);
        h.Accept(InterruptMessage.StartUp(0x20));
        h.Accept(InterruptMessage.Init);

        Assert.Equal(AcceptOutcome.DroppedNotRunning, h.Accept(InterruptMessage.Nmi));
        Assert.Equal(AcceptOutcome.DroppedNotRunning, h.Accept(InterruptMessage.Smi));

        Assert.Equal(1, h.Apic.NmiCount);
        Assert.Equal(1, h.Apic.SmiCount);
        Assert.Equal(0x20, h.Apic.SipiVector);
    }

    [Fact]
    public void WaitForSipi_LintPinsAndObservationsStillWork()
    {
        using var h = ApicHarness.PowerOn(1, bsp: false, running: false);

        h.Apic.SetLint(0, true, 0, h.Fx);
        h.Apic.SetLint(1, true, 0, h.Fx);

        Assert.Equal(-1, h.Apic.PendingVector);
        Assert.NotNull(h.Apic.Snapshot(0));
        Assert.Equal(AcceptOutcome.Started, h.Accept(InterruptMessage.StartUp(0)));
        Assert.Equal(0, h.Apic.SipiVector);
    }

    [Fact]
    public void SetLint_InitModeOnAp_ResetsIntoWaitForSipi()
    {
        using var h = ApicHarness.XApic(1, bsp: false);
        h.W(ApicOffsets.LvtLint0, LvtInit);

        h.Apic.SetLint(0, true, 0, h.Fx);

        Assert.Equal(VcpuRunState.WaitForSipi, h.Apic.RunState);
        Assert.Equal(LvtReset, h.Apic.Page[ApicOffsets.LvtLint0]);
    }
}
