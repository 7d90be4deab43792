using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Behaviour family F: IA32_APIC_BASE transitions, reserved bits, relocation and the MMIO views (SDM 10.4.4, 10.12.5).</summary>
public sealed class ApicBaseTests
{
    [Theory]
    [InlineData(0u, true, BspX2Apic, 0x0000_0001ul)]
    [InlineData(1u, false, ApX2Apic, 0x0000_0002ul)]
    [InlineData(0x11u, false, ApX2Apic, 0x0001_0002ul)]
    public void WriteMsr_EnterX2Apic_GivesFullIdAndDerivedLdr(uint id, bool bsp, ulong value, ulong ldr)
    {
        using var h = ApicHarness.XApic(id, bsp);

        h.WrmsrOk(ApicMsrs.ApicBase, value);

        Assert.Equal(ApicMode.X2Apic, h.Apic.Mode);
        Assert.Equal(value, h.RdmsrOk(ApicMsrs.ApicBase));
        Assert.Equal(id, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Id)));
        Assert.Equal(ldr, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Ldr)));
        var identity = h.Fx.RoutingChanges[^1];
        Assert.Equal(ApicMode.X2Apic, identity.Mode);
        Assert.Equal(id, identity.ApicId);
        Assert.Equal((uint)ldr, identity.Ldr);
    }

    [Fact]
    public void WriteMsr_EnterX2Apic_KeepsTprSvrLvtsAndTimer()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Tpr, 0x20);
        h.W(ApicOffsets.LvtTimer, TimerPeriodic | 0xEE);
        h.W(ApicOffsets.LvtLint1, LvtNmi);
        h.W(ApicOffsets.TimerDivide, 0x3);
        h.W(ApicOffsets.TimerInitialCount, 0x1000);
        h.Now = 0x800;

        h.WrmsrOk(ApicMsrs.ApicBase, BspX2Apic);

        Assert.Equal(0x20ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Tpr)));
        Assert.Equal((ulong)SvrEnabled, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Svr)));
        Assert.Equal((ulong)(TimerPeriodic | 0xEE), h.RdmsrOk(ApicHarness.Msr(ApicOffsets.LvtTimer)));
        Assert.Equal((ulong)LvtNmi, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.LvtLint1)));
        Assert.Equal(0x3ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.TimerDivide)));
        Assert.Equal(0x1000ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.TimerInitialCount)));
        Assert.Equal(0x1000ul - 0x800 / 16, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.TimerCurrentCount)));
    }

    [Fact]
    public void ReadMmio_InX2ApicMode_ReadsAllOnesAndWritesAreIgnored()
    {
        using var h = ApicHarness.XApic();
        h.WrmsrOk(ApicMsrs.ApicBase, BspX2Apic);

        Assert.Equal(AccessResult.Of(0xFFFF_FFFF), h.Apic.ReadMmio(DefaultBase + ApicOffsets.Version, 4, 0, h.Fx));
        Assert.Equal(AccessResult.Of(0xFFFF_FFFF), h.Apic.ReadMmio(DefaultBase + ApicOffsets.Tpr, 4, 0, h.Fx));
        h.Apic.WriteMmio(DefaultBase + ApicOffsets.Tpr, 4, 0x50, 0, h.Fx);
        Assert.Equal(0ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Tpr)));
    }

    public enum From { Disabled, XApic, X2Apic }

    [Theory]
    [InlineData(From.Disabled, false, false, true)]
    [InlineData(From.Disabled, true, false, true)]
    [InlineData(From.Disabled, true, true, false)]
    [InlineData(From.Disabled, false, true, false)]
    [InlineData(From.XApic, false, false, true)]
    [InlineData(From.XApic, true, false, true)]
    [InlineData(From.XApic, true, true, true)]
    [InlineData(From.XApic, false, true, false)]
    [InlineData(From.X2Apic, false, false, true)]
    [InlineData(From.X2Apic, true, false, false)]
    [InlineData(From.X2Apic, true, true, true)]
    [InlineData(From.X2Apic, false, true, false)]
    public void WriteMsr_ApicBaseTransition_FollowsTheMatrix(From from, bool enable, bool extd, bool allowed)
    {
        using var h = ApicHarness.XApic(1, bsp: false);
        if (from == From.X2Apic) h.WrmsrOk(ApicMsrs.ApicBase, ApX2Apic);
        if (from == From.Disabled) h.WrmsrOk(ApicMsrs.ApicBase, ApDisabled);
        var before = h.Apic.ApicBase;
        var modeBefore = h.Apic.Mode;
        var value = DefaultBase | (enable ? ApicBaseEnable : 0) | (extd ? ApicBaseExtd : 0);

        var result = h.Wrmsr(ApicMsrs.ApicBase, value);

        if (allowed)
        {
            Assert.Equal(AccessResult.Done, result);
            Assert.Equal(value, h.Apic.ApicBase);
            var expectedMode = !enable ? ApicMode.Disabled : extd ? ApicMode.X2Apic : ApicMode.XApic;
            Assert.Equal(expectedMode, h.Apic.Mode);
        }
        else
        {
            Assert.Equal(AccessResult.Fault, result);
            Assert.Equal(before, h.Apic.ApicBase);
            Assert.Equal(modeBefore, h.Apic.Mode);
        }
    }

    [Fact]
    public void WriteMsr_X2ApicThroughDisabledToXApic_ResetsEveryRegisterButTheId()
    {
        using var h = ApicHarness.XApic();
        h.WrmsrOk(ApicMsrs.ApicBase, BspX2Apic);
        h.WrmsrOk(ApicHarness.Msr(ApicOffsets.Tpr), 0x20);
        h.WrmsrOk(ApicHarness.Msr(ApicOffsets.LvtTimer), TimerPeriodic | 0xEE);
        h.WrmsrOk(ApicHarness.Msr(ApicOffsets.TimerInitialCount), 0x1000);

        h.WrmsrOk(ApicMsrs.ApicBase, BspDisabled);
        Assert.Equal(ApicMode.Disabled, h.Apic.Mode);
        Assert.Equal(BspDisabled, h.RdmsrOk(ApicMsrs.ApicBase));
        h.WrmsrOk(ApicMsrs.ApicBase, BspXApic);

        Assert.Equal(0u, h.R(ApicOffsets.Id));
        Assert.Equal(0u, h.R(ApicOffsets.Tpr));
        Assert.Equal(SvrReset, h.R(ApicOffsets.Svr));
        Assert.Equal(LvtReset, h.R(ApicOffsets.LvtTimer));
        Assert.Equal(0u, h.R(ApicOffsets.Ldr));
        Assert.Equal(DfrReset, h.R(ApicOffsets.Dfr));
        Assert.Equal(0u, h.R(ApicOffsets.TimerInitialCount));
        Assert.Null(h.Apic.TimerDue);
    }

    [Fact]
    public void WriteMsr_Disable_ReturnsToPowerOnStateAndCancelsTheTimer()
    {
        using var h = ApicHarness.XApic(2, bsp: false);
        h.W(ApicOffsets.LvtTimer, 0xEE);
        h.W(ApicOffsets.TimerInitialCount, 100);
        h.W(ApicOffsets.Ldr, 0x0400_0000);
        h.PutInService(0x50);
        h.Inject(0x60);
        h.Fx.Clear();

        h.WrmsrOk(ApicMsrs.ApicBase, ApDisabled);

        Assert.Equal(ApicMode.Disabled, h.Apic.Mode);
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.True(h.Apic.Isr.IsEmpty);
        Assert.Null(h.Apic.TimerDue);
        Assert.Equal(1, h.Fx.Cancels);
        Assert.Equal(ApicMode.Disabled, h.Fx.RoutingChanges[^1].Mode);
        Assert.Equal(-1, h.Apic.PendingVector);
        Assert.False(h.Apic.ExpireTimer(100, h.Fx));
        h.WrmsrOk(ApicMsrs.ApicBase, ApXApic);
        Assert.Equal(2u << 24, h.R(ApicOffsets.Id));
        Assert.Equal(0u, h.R(ApicOffsets.Ldr));
    }

    [Fact]
    public void Disabled_MmioReadsAllOnesAndWritesAreIgnored()
    {
        using var h = ApicHarness.XApic();
        h.WrmsrOk(ApicMsrs.ApicBase, BspDisabled);

        Assert.Equal(AccessResult.Of(0xFFFF_FFFF), h.Apic.ReadMmio(DefaultBase + ApicOffsets.Version, 4, 0, h.Fx));
        Assert.Equal(AccessResult.Of(0xFFFF_FFFF), h.Apic.ReadMmio(DefaultBase + ApicOffsets.Tpr, 4, 0, h.Fx));
        Assert.Equal(AccessResult.Of(0xFF), h.Apic.ReadMmio(DefaultBase + ApicOffsets.Tpr, 1, 0, h.Fx));
        for (uint offset = 0; offset < ApicOffsets.PageSize; offset += 4)
        {
            h.Apic.WriteMmio(DefaultBase + offset, 4, 0xFFFF_FFFF, 0, h.Fx);
        }

        Assert.Equal(0, h.Apic.Snapshot(0).Tpr);
        Assert.Equal(SvrReset, h.Apic.Snapshot(0).Svr);
        Assert.Empty(h.Fx.Sent);
    }

    [Fact]
    public void Disabled_X2ApicMsrsFault()
    {
        using var h = ApicHarness.XApic();
        h.WrmsrOk(ApicMsrs.ApicBase, BspDisabled);

        Assert.Equal(AccessResult.Fault, h.Rdmsr(ApicHarness.Msr(ApicOffsets.Tpr)));
        Assert.Equal(AccessResult.Fault, h.Wrmsr(ApicHarness.Msr(ApicOffsets.Tpr), 0));
    }

    [Fact]
    public void Disabled_ReceivesNoInterruptMessageOfAnyKind()
    {
        using var h = ApicHarness.XApic(1, bsp: false);
        h.WrmsrOk(ApicMsrs.ApicBase, ApDisabled);

        Assert.Equal(AcceptOutcome.DroppedHardwareDisabled, h.Inject(0x41));
        Assert.Equal(AcceptOutcome.DroppedHardwareDisabled, h.Accept(InterruptMessage.Nmi));
        Assert.Equal(AcceptOutcome.DroppedHardwareDisabled, h.Accept(InterruptMessage.Smi));
        Assert.Equal(AcceptOutcome.DroppedHardwareDisabled, h.Accept(InterruptMessage.Init));
        Assert.Equal(AcceptOutcome.DroppedHardwareDisabled, h.Accept(InterruptMessage.StartUp(0x10)));
        Assert.Equal(AcceptOutcome.DroppedHardwareDisabled, h.Apic.RaiseLocal(LvtSource.Thermal, 0, h.Fx));
        Assert.Equal(0, h.Apic.NmiCount);
        Assert.Equal(VcpuRunState.Running, h.Apic.RunState);
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void Disabled_Lint1ActsAsNmiPinAndLint0AsIntr()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtLint1, LvtMasked | 0x31);
        h.WrmsrOk(ApicMsrs.ApicBase, BspDisabled);

        h.Apic.SetLint(1, true, 0, h.Fx);
        h.Apic.SetLint(1, true, 0, h.Fx);
        h.Apic.SetLint(0, true, 0, h.Fx);

        Assert.Equal(1, h.Apic.NmiCount);
        Assert.True(h.Apic.Irr.IsEmpty);

        h.Apic.SetLint(1, false, 0, h.Fx);
        h.Apic.SetLint(1, true, 0, h.Fx);
        Assert.Equal(2, h.Apic.NmiCount);
    }

    public static TheoryData<int> ReservedBits()
    {
        var data = new TheoryData<int> { 0, 1, 2, 3, 4, 5, 6, 7, 9 };
        for (var bit = PhysicalAddressWidth; bit < 64; bit++) data.Add(bit);
        return data;
    }

    [Theory]
    [MemberData(nameof(ReservedBits))]
    public void WriteMsr_ApicBaseReservedBit_FaultsAndChangesNothing(int bit)
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(AccessResult.Fault, h.Wrmsr(ApicMsrs.ApicBase, BspXApic | (1UL << bit)));
        Assert.Equal(AccessResult.Fault, h.Wrmsr(ApicMsrs.ApicBase, BspX2Apic | (1UL << bit)));
        Assert.Equal(BspXApic, h.Apic.ApicBase);
        Assert.Equal(ApicMode.XApic, h.Apic.Mode);
        Assert.Equal(SvrEnabled, h.R(ApicOffsets.Svr));
    }

    [Fact]
    public void WriteMsr_ApicBaseHighestAddressBit_IsAccepted()
    {
        using var h = ApicHarness.XApic();
        var high = 1UL << (PhysicalAddressWidth - 1);

        h.WrmsrOk(ApicMsrs.ApicBase, BspXApic | high);

        Assert.Equal(BspXApic | high, h.Apic.ApicBase);
    }

    [Theory]
    [InlineData(true, ApXApic, BspXApic)]
    [InlineData(false, BspXApic, ApXApic)]
    public void WriteMsr_ApicBaseBspBit_IsReadOnly(bool bsp, ulong written, ulong expected)
    {
        using var h = ApicHarness.XApic(bsp ? 0u : 1u, bsp);

        h.WrmsrOk(ApicMsrs.ApicBase, written);

        Assert.Equal(expected, h.RdmsrOk(ApicMsrs.ApicBase));
    }

    [Fact]
    public void WriteMsr_SameValue_IsANoOp()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Tpr, 0x30);
        h.Fx.Clear();

        h.WrmsrOk(ApicMsrs.ApicBase, BspXApic);

        Assert.Equal(0x30u, h.R(ApicOffsets.Tpr));
        Assert.Empty(h.Fx.RoutingChanges);
    }

    [Fact]
    public void WriteMsr_RelocateWhileDisabled_PageAnswersAtTheNewBase()
    {
        using var h = ApicHarness.XApic();
        var version = h.R(ApicOffsets.Version);
        h.WrmsrOk(ApicMsrs.ApicBase, BspDisabled);

        h.WrmsrOk(ApicMsrs.ApicBase, AlternateBase | ApicBaseEnable | ApicBaseBsp);

        Assert.Equal(AccessResult.Of(version), h.Apic.ReadMmio(AlternateBase + ApicOffsets.Version, 4, 0, h.Fx));
        Assert.Equal(AccessResult.Of(0xFFFF_FFFF), h.Apic.ReadMmio(DefaultBase + ApicOffsets.Version, 4, 0, h.Fx));
    }

    [Fact]
    public void WriteMsr_RelocateInX2ApicMode_KeepsModeAndRegisters()
    {
        // Profile: a write that keeps the mode may move the base; the page still answers nothing in x2APIC mode.
        using var h = ApicHarness.X2Apic(3, bsp: false);
        h.WrmsrOk(0x808, 0x44);
        h.Fx.Clear();

        h.WrmsrOk(ApicMsrs.ApicBase, AlternateBase | ApicBaseEnable | ApicBaseExtd);

        Assert.Equal(AlternateBase | ApicBaseEnable | ApicBaseExtd, h.RdmsrOk(ApicMsrs.ApicBase));
        Assert.Equal(ApicMode.X2Apic, h.Apic.Mode);
        Assert.Equal(0x44ul, h.RdmsrOk(0x808));
        Assert.Equal((ulong)SvrEnabled, h.RdmsrOk(0x80F));
        Assert.Equal(3ul, h.RdmsrOk(0x802));
        Assert.Empty(h.Fx.RoutingChanges);
        Assert.Equal(AccessResult.Of(0xFFFF_FFFF), h.Apic.ReadMmio(AlternateBase + ApicOffsets.Tpr, 4, 0, h.Fx));
        h.Apic.WriteMmio(AlternateBase + ApicOffsets.Tpr, 4, 0x55, 0, h.Fx);
        Assert.Equal(0x44ul, h.RdmsrOk(0x808));
    }

    [Fact]
    public void WriteMsr_RelocateInXApicMode_KeepsRegistersAndMovesThePage()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Tpr, 0x44);

        h.WrmsrOk(ApicMsrs.ApicBase, AlternateBase | ApicBaseEnable);

        Assert.Equal(AccessResult.Of(0x44), h.Apic.ReadMmio(AlternateBase + ApicOffsets.Tpr, 4, 0, h.Fx));
        Assert.Equal(AccessResult.Of(0xFFFF_FFFF), h.Apic.ReadMmio(DefaultBase + ApicOffsets.Tpr, 4, 0, h.Fx));
        h.Apic.WriteMmio(AlternateBase + ApicOffsets.Tpr, 4, 0x55, 0, h.Fx);
        Assert.Equal(0x55, h.Apic.Snapshot(0).Tpr);
    }

    [Theory]
    [InlineData(0x0u)]
    [InlineData(0x10u)]
    [InlineData(0x1Au)]
    [InlineData(0x1Cu)]
    [InlineData(0x6DFu)]
    [InlineData(0x6E1u)]
    [InlineData(0x7FFu)]
    [InlineData(0x900u)]
    [InlineData(0xC000_0080u)]
    public void Msr_OutsideTheApicSet_Faults(uint msr)
    {
        using var h = ApicHarness.X2Apic();

        Assert.Equal(AccessResult.Fault, h.Rdmsr(msr));
        Assert.Equal(AccessResult.Fault, h.Wrmsr(msr, 0));
    }
}
