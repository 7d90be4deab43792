using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Behaviour family A: the power-on state (SDM 10.4.4, 10.4.7.1).</summary>
public sealed class ResetStateTests
{
    [Theory]
    [InlineData(0u, true, false, BspXApic)]
    [InlineData(1u, false, false, ApXApic)]
    [InlineData(0u, true, true, BspX2Apic)]
    [InlineData(1u, false, true, ApX2Apic)]
    public void ApicBase_AtPowerOn_HasEnableBspAndExtdAsConfigured(uint id, bool bsp, bool x2Apic, ulong expected)
    {
        using var h = ApicHarness.PowerOn(id, bsp, x2Apic);

        Assert.Equal(expected, h.Apic.ApicBase);
        Assert.Equal(expected, h.RdmsrOk(ApicMsrs.ApicBase));
        Assert.Equal(x2Apic ? ApicMode.X2Apic : ApicMode.XApic, h.Apic.Mode);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(0x7Fu)]
    [InlineData(0xFEu)]
    public void IdRegister_AtPowerOn_IsInitialIdInBits31To24(uint id)
    {
        using var h = ApicHarness.PowerOn(id, bsp: id == 0);

        Assert.Equal(id << 24, h.R(ApicOffsets.Id));
        Assert.Equal(id, h.Apic.Identity.ApicId);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(0x123u)]
    [InlineData(0xFFFF_FFFEu)]
    public void X2ApicId_AtPowerOnInX2Apic_IsFull32BitId(uint id)
    {
        using var h = ApicHarness.PowerOn(id, bsp: false, x2Apic: true);

        Assert.Equal(id, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Id)));
        Assert.Equal(id, h.Apic.Identity.ApicId);
    }

    [Fact]
    public void XApicId_OfAnX2ApicIdAboveFE_BackInXApicMode_IsLowEightBits_AndX2ApicModeGetsFullIdBack()
    {
        // decisions.md 19: an initial ID above 0xFE has no xAPIC form; xAPIC mode shows its low 8 bits.
        using var h = ApicHarness.PowerOn(0x123, bsp: false, x2Apic: true);

        h.WrmsrOk(ApicMsrs.ApicBase, ApDisabled);
        h.WrmsrOk(ApicMsrs.ApicBase, ApXApic);
        Assert.Equal(0x2300_0000u, h.R(ApicOffsets.Id));

        h.WrmsrOk(ApicMsrs.ApicBase, ApX2Apic);
        Assert.Equal(0x123UL, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Id)));
        Assert.Equal(0x0012_0008UL, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Ldr)));
    }

    [Fact]
    public void X2ApicId_AfterEnteringX2Apic_IsInitialIdWithZeroUpperHalf()
    {
        using var h = ApicHarness.PowerOn(1, bsp: false);

        h.WrmsrOk(ApicMsrs.ApicBase, ApX2Apic);

        Assert.Equal(1UL, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Id)));
    }

    [Fact]
    public void VersionRegister_AtPowerOn_ReadsProfileVersionInBothModes()
    {
        using var x = ApicHarness.PowerOn();
        using var x2 = ApicHarness.PowerOn(x2Apic: true);

        Assert.Equal(ApicVersion, x.R(ApicOffsets.Version));
        Assert.Equal(ApicVersion, x2.RdmsrOk(ApicHarness.Msr(ApicOffsets.Version)));
        Assert.Equal(0x14u, ApicVersion & 0xFF);
        Assert.Equal(6u, (ApicVersion >> 16) & 0xFF);
        Assert.NotEqual(0u, ApicVersion & (1u << 24));
    }

    [Fact]
    public void Svr_AtPowerOn_IsSoftwareDisabledWithSpuriousVectorFF()
    {
        using var h = ApicHarness.PowerOn();

        Assert.Equal(SvrReset, h.R(ApicOffsets.Svr));
        Assert.False(h.Apic.SoftwareEnabled);
    }

    public static TheoryData<uint, bool> LvtsOfBspAndAp()
    {
        var data = new TheoryData<uint, bool>();
        foreach (var offset in LvtOffsets)
        {
            data.Add(offset, true);
            data.Add(offset, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(LvtsOfBspAndAp))]
    public void Lvt_AtPowerOn_IsMaskedOnBspAndAp(uint offset, bool bsp)
    {
        using var h = ApicHarness.PowerOn(bsp ? 0u : 1u, bsp);

        Assert.Equal(LvtReset, h.R(offset));
    }

    public static TheoryData<uint> ZeroAtPowerOn()
    {
        var data = new TheoryData<uint>
        {
            ApicOffsets.Tpr, ApicOffsets.Apr, ApicOffsets.Ppr, ApicOffsets.Eoi, ApicOffsets.Rrd, ApicOffsets.Ldr,
            ApicOffsets.Esr, ApicOffsets.IcrLow, ApicOffsets.IcrHigh, ApicOffsets.TimerInitialCount,
            ApicOffsets.TimerCurrentCount, ApicOffsets.TimerDivide,
        };
        for (uint word = 0; word < 8; word++)
        {
            data.Add(ApicOffsets.Isr0 + word * ApicOffsets.Stride);
            data.Add(ApicOffsets.Tmr0 + word * ApicOffsets.Stride);
            data.Add(ApicOffsets.Irr0 + word * ApicOffsets.Stride);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ZeroAtPowerOn))]
    public void Register_AtPowerOn_ReadsZero(uint offset)
    {
        using var h = ApicHarness.PowerOn(1, bsp: false);
        h.W(ApicOffsets.Esr, 0);

        Assert.Equal(0u, h.R(offset));
    }

    [Fact]
    public void Dfr_AtPowerOn_IsAllOnes()
    {
        using var h = ApicHarness.PowerOn();

        Assert.Equal(DfrReset, h.R(ApicOffsets.Dfr));
        Assert.Equal(ApicRoutingIdentity.FlatModel, h.Apic.Identity.DfrModel);
    }

    [Fact]
    public void Observations_AtPowerOn_ShowNothingPending()
    {
        using var h = ApicHarness.PowerOn();

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.True(h.Apic.Isr.IsEmpty);
        Assert.True(h.Apic.Tmr.IsEmpty);
        Assert.Equal(-1, h.Apic.PendingVector);
        Assert.Equal(0, h.Apic.Ppr);
        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(0, h.Apic.NmiCount);
        Assert.Equal(0, h.Apic.SmiCount);
        Assert.True(h.Apic.SipiVector < 0);
        Assert.Equal(VcpuRunState.Running, h.Apic.RunState);
    }

    [Fact]
    public void RunState_WhenConfiguredNotToStart_IsWaitForSipi()
    {
        using var h = ApicHarness.PowerOn(1, bsp: false, running: false);

        Assert.Equal(VcpuRunState.WaitForSipi, h.Apic.RunState);
    }

    [Fact]
    public void Identity_AtPowerOn_DescribesDisabledSoftwareAndFlatModel()
    {
        using var h = ApicHarness.PowerOn(3, bsp: false, index: 2);

        Assert.Equal(new ApicRoutingIdentity(2, 3, ApicMode.XApic, false, 0, ApicRoutingIdentity.FlatModel), h.Apic.Identity);
    }

    [Fact]
    public void Snapshot_AtPowerOn_MatchesTheRegisters()
    {
        using var h = ApicHarness.PowerOn(1, bsp: false, index: 1);

        var s = h.Apic.Snapshot(0);

        Assert.Equal(1, s.Index);
        Assert.Equal(1u, s.ApicId);
        Assert.Equal(ApXApic, s.ApicBase);
        Assert.Equal(SvrReset, s.Svr);
        Assert.Equal(DfrReset, s.Dfr);
        Assert.Equal(LvtReset, s.LvtTimer);
        Assert.Equal(LvtReset, s.LvtLint0);
        Assert.Equal(LvtReset, s.LvtLint1);
        Assert.Equal(LvtReset, s.LvtError);
        Assert.Equal(0u, s.TimerInitialCount);
        Assert.Equal(0, s.Tpr);
        Assert.Null(s.TimerDueNs);
    }

    [Fact]
    public void Page_AtPowerOn_IsAlignedAndHoldsTheRegisters()
    {
        using var h = ApicHarness.PowerOn(5, bsp: false);

        var page = h.Apic.Page;

        Assert.Equal(0u, (uint)(page.Address % ApicOffsets.PageSize));
        Assert.Equal(ApicOffsets.PageSize, page.Bytes.Length);
        Assert.Equal(5u << 24, page[ApicOffsets.Id]);
        Assert.Equal(ApicVersion, page[ApicOffsets.Version]);
    }

    [Fact]
    public void Dispose_ReleasesThePage()
    {
        var h = ApicHarness.PowerOn();
        var page = h.Apic.Page;

        h.Dispose();

        Assert.True(page.IsDisposed);
    }

    [Fact]
    public void Constructor_InvalidConfig_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LocalApic(new ApicConfig(0, 0xFF, true)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LocalApic(new ApicConfig(-1, 0, true)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LocalApic(new ApicConfig(0, 0, true, TimerHz: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LocalApic(new ApicConfig(0, 0, true, TscHz: -1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LocalApic(new ApicConfig(0, ApicId.X2ApicBroadcast, true, StartInX2Apic: true)));
    }

    [Fact]
    public void FixedInterrupt_AtPowerOnSoftwareDisabled_IsDiscarded()
    {
        using var h = ApicHarness.PowerOn();

        h.W(ApicOffsets.IcrHigh, 0);
        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | IcrFixed | 0x40);
        var injected = h.Inject(0x41);
        var looped = h.Loopback();

        Assert.Equal(AcceptOutcome.DroppedSoftwareDisabled, injected);
        Assert.Equal([AcceptOutcome.DroppedSoftwareDisabled], looped);
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(-1, h.Apic.PendingVector);
        Assert.Equal(0u, h.LatchEsr());
    }
}
