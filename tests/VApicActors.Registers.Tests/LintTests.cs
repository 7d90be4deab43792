using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Local interrupt sources: LINT pins (polarity, edge, level with remote IRR, masking) and the other LVTs (SDM 10.5.1).</summary>
public sealed class LintTests
{
    private static void Pin(ApicHarness h, int pin, bool level) => h.Apic.SetLint(pin, level, h.Now, h.Fx);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void SetLint_NmiMode_FiresOnEachRisingEdgeOnly(int pin)
    {
        using var h = ApicHarness.XApic();
        h.W(pin == 0 ? ApicOffsets.LvtLint0 : ApicOffsets.LvtLint1, LvtNmi);

        Pin(h, pin, true);
        Pin(h, pin, true);
        Assert.Equal(1, h.Apic.NmiCount);
        Pin(h, pin, false);
        Assert.Equal(1, h.Apic.NmiCount);
        Pin(h, pin, true);
        Assert.Equal(2, h.Apic.NmiCount);
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Theory]
    [InlineData(0, LvtNmi)]
    [InlineData(1, LvtNmi)]
    [InlineData(1, LvtSmi)]
    public void SetLint_NmiOrSmiWithLevelTriggerBit_StillFiresOnEdgesOnly(int pin, uint mode)
    {
        // Profile: NMI and SMI fire on the inactive→active edge; the level bit matters to fixed LINTs only (SDM 10.5.1).
        using var h = ApicHarness.XApic();
        var offset = pin == 0 ? ApicOffsets.LvtLint0 : ApicOffsets.LvtLint1;
        h.W(offset, LvtLevel | mode);

        Pin(h, pin, true);
        h.W(offset, LvtLevel | mode);
        Pin(h, pin, true);
        Assert.Equal(1, h.Apic.NmiCount + h.Apic.SmiCount);
        Pin(h, pin, false);
        Pin(h, pin, true);

        Assert.Equal(2, mode == LvtNmi ? h.Apic.NmiCount : h.Apic.SmiCount);
        Assert.Equal(LvtLevel | mode, h.R(offset));
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.True(h.Apic.Tmr.IsEmpty);
    }

    [Theory]
    [InlineData(0b001u)]
    [InlineData(0b011u)]
    [InlineData(0b110u)]
    public void SetLint_ReservedDeliveryMode_DeliversNothing(uint mode)
    {
        // SDM Fig. 10-8: a LINT LVT delivers fixed, SMI, NMI, INIT or ExtINT; "all other combinations are reserved".
        using var h = ApicHarness.XApic(1, bsp: false);
        h.W(ApicOffsets.LvtLint0, (mode << 8) | 0x44);
        h.W(ApicOffsets.LvtLint1, (mode << 8) | LvtLevel | 0x45);

        Pin(h, 0, true);
        Pin(h, 1, true);

        Assert.All(h.Fx.Local, local => Assert.Equal(AcceptOutcome.DroppedNoEffect, local.Outcome));
        Assert.Equal(2, h.Fx.Local.Count);
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(VcpuRunState.Running, h.Apic.RunState);
        Assert.Equal(0, h.Apic.NmiCount + h.Apic.SmiCount);
        Assert.Equal((mode << 8) | LvtLevel | 0x45, h.R(ApicOffsets.LvtLint1));
    }

    [Theory]
    [InlineData(LvtSource.Thermal, ApicOffsets.LvtThermal, 0b001u)]
    [InlineData(LvtSource.Thermal, ApicOffsets.LvtThermal, 0b011u)]
    [InlineData(LvtSource.Cmci, ApicOffsets.LvtCmci, 0b110u)]
    [InlineData(LvtSource.Cmci, ApicOffsets.LvtCmci, 0b111u)]
    public void RaiseLocal_ReservedOrExtIntModeOnThermalOrCmci_DeliversNothing(LvtSource source, uint offset, uint mode)
    {
        // SDM Fig. 10-8: ExtINT is not supported for these LVTs and the other unnamed modes are reserved.
        using var h = ApicHarness.XApic();
        h.W(offset, (mode << 8) | 0x44);

        Assert.Equal(AcceptOutcome.DroppedNoEffect, h.Apic.RaiseLocal(source, 0, h.Fx));

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(0, h.Apic.NmiCount + h.Apic.SmiCount);
    }

    [Fact]
    public void SetLint_MaskedNmi_DeliversNothing()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint1, LvtMasked | LvtNmi);

        Pin(h, 1, true);

        Assert.Equal(0, h.Apic.NmiCount);
        Assert.Equal((LvtSource.Lint1, (byte)0, AcceptOutcome.DroppedMasked), Assert.Single(h.Fx.Local));
    }

    [Fact]
    public void SetLint_ActiveLow_FiresOnTheFallingEdge()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint1, LvtActiveLow | LvtNmi);

        Pin(h, 1, true);
        Assert.Equal(0, h.Apic.NmiCount);
        Pin(h, 1, false);
        Assert.Equal(1, h.Apic.NmiCount);
        Pin(h, 1, true);
        Assert.Equal(1, h.Apic.NmiCount);
    }

    [Fact]
    public void SetLint_SmiMode_DeliversSmi()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint0, LvtSmi);

        Pin(h, 0, true);

        Assert.Equal(1, h.Apic.SmiCount);
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void SetLint_ExtIntMode_HasNoVisibleEffect()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint0, LvtExtInt);
        var before = h.Apic.Snapshot(0);

        Pin(h, 0, true);

        Assert.Equal(before, h.Apic.Snapshot(0));
    }

    [Fact]
    public void SetLint_EdgeFixed_SetsIrrOncePerEdgeWithTmrClear()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint0, 0x31);

        Pin(h, 0, true);
        Assert.Equal(VectorSet.Of(0x31), h.Apic.Irr);
        Assert.True(h.Apic.Tmr.IsEmpty);
        Assert.Equal(0x31, h.Ack());
        Pin(h, 0, true);
        Assert.True(h.Apic.Irr.IsEmpty);
        h.Eoi();
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(0x31u, h.R(ApicOffsets.LvtLint0));

        Pin(h, 0, false);
        Pin(h, 0, true);
        Assert.Equal(VectorSet.Of(0x31), h.Apic.Irr);
    }

    [Fact]
    public void SetLint_LevelFixed_SetsRemoteIrrAndRefiresOnEoiWhileActive()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint0, LvtLevel | 0x31);

        Pin(h, 0, true);
        Assert.Equal(VectorSet.Of(0x31), h.Apic.Irr);
        Assert.Equal(VectorSet.Of(0x31), h.Apic.Tmr);
        Assert.Equal(LvtRemoteIrr | LvtLevel | 0x31, h.R(ApicOffsets.LvtLint0));

        Assert.Equal(0x31, h.Ack());
        Pin(h, 0, true);
        Assert.True(h.Apic.Irr.IsEmpty);

        h.Eoi();
        Assert.Equal(VectorSet.Of(0x31), h.Apic.Irr);
        Assert.Equal(LvtRemoteIrr | LvtLevel | 0x31, h.R(ApicOffsets.LvtLint0));

        Assert.Equal(0x31, h.Ack());
        Pin(h, 0, false);
        h.Eoi();
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(LvtLevel | 0x31, h.R(ApicOffsets.LvtLint0));
    }

    [Fact]
    public void SetLint_LevelFixedActiveLow_FiresWhileLow()
    {
        using var h = ApicHarness.XApic();
        Pin(h, 1, true);

        h.W(ApicOffsets.LvtLint1, LvtLevel | LvtActiveLow | 0x32);
        Assert.True(h.Apic.Irr.IsEmpty);

        Pin(h, 1, false);
        Assert.Equal(VectorSet.Of(0x32), h.Apic.Irr);
        Assert.NotEqual(0u, h.R(ApicOffsets.LvtLint1) & LvtRemoteIrr);
    }

    [Fact]
    public void SetLint_MaskedEdge_IsDroppedAndNotReplayedOnUnmask()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint0, LvtMasked | 0x31);

        Pin(h, 0, true);
        h.W(ApicOffsets.LvtLint0, 0x31);

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(AcceptOutcome.DroppedMasked, Assert.Single(h.Fx.Local).Outcome);
    }

    [Fact]
    public void SetLint_MaskedLevel_DoesNotFireOrSetRemoteIrr()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint0, LvtMasked | LvtLevel | 0x31);

        Pin(h, 0, true);

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(LvtMasked | LvtLevel | 0x31, h.R(ApicOffsets.LvtLint0));
    }

    [Fact]
    public void SetLint_LevelRemoteIrrBit_IsReadOnlyToSoftware()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint0, LvtLevel | 0x31);
        Pin(h, 0, true);

        h.W(ApicOffsets.LvtLint0, LvtLevel | 0x31);

        Assert.Equal(LvtRemoteIrr | LvtLevel | 0x31, h.R(ApicOffsets.LvtLint0));
        Assert.Equal(VectorSet.Of(0x31), h.Apic.Irr);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    public void SetLint_InvalidPin_IsAProgrammerError(int pin)
    {
        using var h = ApicHarness.XApic();

        Assert.Throws<ArgumentOutOfRangeException>(() => Pin(h, pin, true));
    }

    [Theory]
    [InlineData(LvtSource.Thermal, ApicOffsets.LvtThermal)]
    [InlineData(LvtSource.Cmci, ApicOffsets.LvtCmci)]
    [InlineData(LvtSource.PerformanceCounter, ApicOffsets.LvtPmc)]
    public void RaiseLocal_FixedLvt_GoesThroughIrrAndIsr(LvtSource source, uint offset)
    {
        using var h = ApicHarness.XApic();
        h.W(offset, 0xF0);

        Assert.Equal(AcceptOutcome.Accepted, h.Apic.RaiseLocal(source, 0, h.Fx));

        Assert.Equal((source, (byte)0xF0, AcceptOutcome.Accepted), Assert.Single(h.Fx.Local));
        Assert.Equal(0xF0, h.Ack());
        Assert.Equal(VectorSet.Of(0xF0), h.Apic.Isr);
        h.Eoi();
        Assert.True(h.Apic.Isr.IsEmpty);
    }

    [Fact]
    public void RaiseLocal_PerformanceCounter_MasksItsLvtOnceDelivered()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtPmc, 0xF0);

        h.Apic.RaiseLocal(LvtSource.PerformanceCounter, 0, h.Fx);

        Assert.Equal(0x0001_00F0u, h.R(ApicOffsets.LvtPmc));
        Assert.Equal(AcceptOutcome.DroppedMasked, h.Apic.RaiseLocal(LvtSource.PerformanceCounter, 0, h.Fx));
    }

    [Fact]
    public void RaiseLocal_PerformanceCounterWithAnIllegalVector_IsRefusedWithEsrBit6_AndStillMasksItsLvt()
    {
        // docs/decisions.md, 14: the PMI masks the entry when it is signalled, whether or not its vector is taken.
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtPmc, 0x0A);

        Assert.Equal(AcceptOutcome.DroppedIllegalVector, h.Apic.RaiseLocal(LvtSource.PerformanceCounter, 0, h.Fx));

        Assert.Equal(0x0001_000Au, h.R(ApicOffsets.LvtPmc));
        Assert.Equal(0x40u, h.LatchEsr());
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void RaiseLocal_ThermalSmiMode_DeliversSmi()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtThermal, LvtSmi);

        Assert.Equal(AcceptOutcome.SmiDelivered, h.Apic.RaiseLocal(LvtSource.Thermal, 0, h.Fx));
        Assert.Equal(1, h.Apic.SmiCount);
    }

    [Fact]
    public void RaiseLocal_CmciNmiMode_DeliversNmi()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtCmci, LvtNmi);

        Assert.Equal(AcceptOutcome.NmiDelivered, h.Apic.RaiseLocal(LvtSource.Cmci, 0, h.Fx));
        Assert.Equal(1, h.Apic.NmiCount);
    }

    [Theory]
    [InlineData(LvtSource.Thermal, ApicOffsets.LvtThermal)]
    [InlineData(LvtSource.PerformanceCounter, ApicOffsets.LvtPmc)]
    [InlineData(LvtSource.Cmci, ApicOffsets.LvtCmci)]
    public void RaiseLocal_InitModeOnThermalPmcOrCmci_IsNotSupportedAndDeliversNothing(LvtSource source, uint offset)
    {
        // SDM Fig. 10-8: INIT is "not supported" for the thermal, performance-counter and CMCI LVTs (docs/decisions.md, 28).
        using var h = ApicHarness.XApic(1, bsp: false);
        h.W(offset, LvtInit | 0x44);
        h.W(ApicOffsets.Tpr, 0x20);

        Assert.Equal(AcceptOutcome.DroppedNoEffect, h.Apic.RaiseLocal(source, 0, h.Fx));

        Assert.Equal(VcpuRunState.Running, h.Apic.RunState);
        Assert.Equal(0x20u, h.R(ApicOffsets.Tpr));
        Assert.Equal(SvrEnabled, h.R(ApicOffsets.Svr));
        Assert.True(h.Apic.Irr.IsEmpty);
        var stored = LvtInit | 0x44 | (source == LvtSource.PerformanceCounter ? LvtMasked : 0);
        Assert.Equal(stored, h.R(offset));
    }

    [Theory]
    [InlineData(LvtSource.Thermal)]
    [InlineData(LvtSource.Cmci)]
    [InlineData(LvtSource.PerformanceCounter)]
    [InlineData(LvtSource.Timer)]
    [InlineData(LvtSource.Error)]
    public void RaiseLocal_MaskedAtPowerOn_IsDropped(LvtSource source)
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(AcceptOutcome.DroppedMasked, h.Apic.RaiseLocal(source, 0, h.Fx));
        Assert.True(h.Apic.Irr.IsEmpty);
    }
}
