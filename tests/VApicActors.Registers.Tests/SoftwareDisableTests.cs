using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Behaviour family C: SVR bit 8, software enable and disable (SDM 10.4.7.2, 10.9).</summary>
public sealed class SoftwareDisableTests
{
    public static TheoryData<uint> Lvts()
    {
        var data = new TheoryData<uint>();
        foreach (var offset in LvtOffsets) data.Add(offset);
        return data;
    }

    [Theory]
    [MemberData(nameof(Lvts))]
    public void Lvt_WriteWhileSoftwareDisabled_StaysMasked(uint offset)
    {
        using var h = ApicHarness.PowerOn();

        h.W(offset, 0x0000_00EE);

        Assert.Equal(LvtMasked | 0xEE, h.R(offset));
    }

    [Fact]
    public void Lvt_TimerAndErrorWhileDisabled_ReadMaskedWithTheirVectors()
    {
        using var h = ApicHarness.PowerOn();

        h.W(ApicOffsets.Svr, SvrReset);
        h.W(ApicOffsets.LvtTimer, 0x0000_00EE);
        h.W(ApicOffsets.LvtError, 0x0000_00FE);

        Assert.Equal(0x0001_00EEu, h.R(ApicOffsets.LvtTimer));
        Assert.Equal(0x0001_00FEu, h.R(ApicOffsets.LvtError));
    }

    [Fact]
    public void Svr_ClearingEnable_MasksEveryLvtAndSettingItAgainUnmasksNothing()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.LvtLint0, LvtExtInt);
        h.W(ApicOffsets.LvtLint1, LvtNmi);
        h.W(ApicOffsets.LvtError, 0xFE);
        h.W(ApicOffsets.LvtThermal, 0x51);
        h.W(ApicOffsets.LvtPmc, 0x52);
        h.W(ApicOffsets.LvtCmci, 0x53);

        h.W(ApicOffsets.Svr, SvrReset);
        uint[] expected = [0x0003_00EE, 0x0001_0700, 0x0001_0400, 0x0001_00FE, 0x0001_0051, 0x0001_0052, 0x0001_0053];
        uint[] offsets = [ApicOffsets.LvtTimer, ApicOffsets.LvtLint0, ApicOffsets.LvtLint1, ApicOffsets.LvtError, ApicOffsets.LvtThermal, ApicOffsets.LvtPmc, ApicOffsets.LvtCmci];
        Assert.Equal(SvrReset, h.R(ApicOffsets.Svr));
        Assert.Equal(expected, offsets.Select(h.R).ToArray());

        h.W(ApicOffsets.Svr, SvrEnabled);
        Assert.Equal(SvrEnabled, h.R(ApicOffsets.Svr));
        Assert.Equal(expected, offsets.Select(h.R).ToArray());
    }

    [Fact]
    public void Svr_TogglingEnable_ReportsRoutingIdentity()
    {
        using var h = ApicHarness.PowerOn();

        h.W(ApicOffsets.Svr, SvrEnabled);
        Assert.True(h.Fx.RoutingChanges[^1].SoftwareEnabled);
        Assert.True(h.Apic.SoftwareEnabled);

        h.Fx.Clear();
        h.W(ApicOffsets.Svr, SvrEnabled | 0x0E0);
        Assert.Empty(h.Fx.RoutingChanges);

        h.W(ApicOffsets.Svr, SvrReset);
        Assert.False(h.Fx.RoutingChanges[^1].SoftwareEnabled);
        Assert.False(h.Apic.Identity.SoftwareEnabled);
    }

    [Fact]
    public void Accept_WhileSoftwareDisabled_HoldsIrrAndIsrAndDropsNewFixed()
    {
        using var h = ApicHarness.XApic();
        h.PutInService(0x80);
        Assert.Equal(AcceptOutcome.Accepted, h.Inject(0x50));

        h.W(ApicOffsets.Svr, SvrReset);

        Assert.Equal(AcceptOutcome.DroppedSoftwareDisabled, h.Inject(0x60));
        Assert.Equal(AcceptOutcome.DroppedSoftwareDisabled, h.Accept(new InterruptMessage(DeliveryMode.LowestPriority, 0x70)));
        Assert.Equal(VectorSet.Of(0x50), h.Apic.Irr);
        Assert.Equal(VectorSet.Of(0x80), h.Apic.Isr);
        Assert.Equal(0x0001_0000u, h.VectorWord(ApicOffsets.Irr0, 0x50));
    }

    [Fact]
    public void Accept_WhileSoftwareDisabled_StillTakesNmiSmiAndInit()
    {
        using var h = ApicHarness.XApic(1, bsp: false);
        h.W(ApicOffsets.Svr, SvrReset);

        Assert.Equal(AcceptOutcome.NmiDelivered, h.Accept(InterruptMessage.Nmi));
        Assert.Equal(AcceptOutcome.SmiDelivered, h.Accept(InterruptMessage.Smi));
        Assert.Equal(1, h.Apic.NmiCount);
        Assert.Equal(1, h.Apic.SmiCount);
        Assert.Equal(AcceptOutcome.InitReset, h.Accept(InterruptMessage.Init));
        Assert.Equal(AcceptOutcome.Started, h.Accept(InterruptMessage.StartUp(0x9A)));
    }

    [Fact]
    public void Acknowledge_WhenPendingIsBlockedByTpr_TakesNothingAndLeavesIrr()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Svr, 0x1F7);
        Assert.Equal(0x1F7u, h.R(ApicOffsets.Svr));
        h.Inject(0x40);

        h.W(ApicOffsets.Tpr, 0x50);

        Assert.Equal(-1, h.Ack());
        Assert.True(h.Apic.Isr.IsEmpty);
        Assert.Equal(1u, h.R(ApicOffsets.Irr0 + 2 * ApicOffsets.Stride));
        Assert.Equal(0x50u, h.R(ApicOffsets.Ppr));
        h.W(ApicOffsets.Tpr, 0);
        Assert.Equal(0x40, h.Apic.PendingVector);
    }
}
