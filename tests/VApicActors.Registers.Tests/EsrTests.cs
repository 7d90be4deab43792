using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>The error status register: write-then-read latching and the Error LVT (SDM 10.5.3, profile decision 4).</summary>
public sealed class EsrTests
{
    [Fact]
    public void Esr_SendIllegalVector_IsLatchedOnlyByTheNextWrite()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Esr, 0);
        Assert.Equal(0u, h.R(ApicOffsets.Esr));
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);

        h.W(ApicOffsets.IcrLow, IcrAssert | 0x05);

        Assert.Empty(h.Fx.Sent);
        Assert.Equal(0u, h.R(ApicOffsets.Esr));
        h.W(ApicOffsets.Esr, 0);
        Assert.Equal(EsrSendIllegalVector, h.R(ApicOffsets.Esr));
        Assert.Equal(EsrSendIllegalVector, h.R(ApicOffsets.Esr));
        h.W(ApicOffsets.Esr, 0);
        Assert.Equal(0u, h.R(ApicOffsets.Esr));
    }

    [Fact]
    public void Esr_SelfShorthandIllegalVector_RecordsSendError()
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | 0x05);

        Assert.Empty(h.Fx.Sent);
        Assert.Equal(EsrSendIllegalVector, h.LatchEsr());
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void Esr_ReceiveIllegalVector_RecordsAndSetsNoIrrBit()
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(AcceptOutcome.DroppedIllegalVector, h.Inject(0x0E));

        Assert.Equal(0u, h.R(ApicOffsets.Irr0));
        Assert.Equal(EsrReceiveIllegalVector, h.LatchEsr());
    }

    [Fact]
    public void Esr_ErrorsAccumulateUntilLatched()
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | 0x05);
        h.Inject(0x01);
        h.R(0x040);

        Assert.Equal(EsrSendIllegalVector | EsrReceiveIllegalVector | EsrIllegalRegister, h.LatchEsr());
        Assert.Equal(0u, h.LatchEsr());
    }

    [Fact]
    public void Esr_WrittenValue_NeverMattersInXApicMode()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtError, 0xFE);
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);

        h.W(ApicOffsets.IcrLow, IcrAssert | 0x05);

        Assert.Equal(0x4000_0000u, h.R(ApicOffsets.Irr0 + 7 * ApicOffsets.Stride));
        Assert.Equal(0u, h.R(ApicOffsets.Esr));
        h.W(ApicOffsets.Esr, 0x1234_5678);
        Assert.Equal(EsrSendIllegalVector, h.R(ApicOffsets.Esr));
        h.W(ApicOffsets.Esr, 0);
        Assert.Equal(0u, h.R(ApicOffsets.Esr));
        Assert.Contains((LvtSource.Error, (byte)0xFE, AcceptOutcome.Accepted), h.Fx.Local);
    }

    [Fact]
    public void Esr_MaskedErrorLvt_LatchesWithoutInterrupt()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtError, LvtMasked | 0xFE);

        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | 0x05);

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(EsrSendIllegalVector, h.LatchEsr());
    }

    [Fact]
    public void Esr_SameErrorAgainBeforeLatch_DoesNotFireTheErrorLvtTwice()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtError, 0xFE);

        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | 0x05);
        Assert.Equal(0xFE, h.Ack());
        h.Eoi();
        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | 0x05);

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Single(h.Fx.Local);
    }

    [Fact]
    public void Esr_OtherBitOrSameBitAfterLatch_FiresTheErrorLvtAgain()
    {
        // Profile: every newly recorded bit fires the Error LVT; a latch clears the collected copy (docs/decisions.md, 2).
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtError, 0xFE);

        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | 0x05);
        h.R(0x040);
        Assert.Equal(2, h.Fx.Local.Count);
        Assert.Equal(EsrSendIllegalVector | EsrIllegalRegister, h.LatchEsr());

        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | 0x05);

        Assert.Equal(3, h.Fx.Local.Count);
        Assert.All(h.Fx.Local, local => Assert.Equal(LvtSource.Error, local.Source));
        Assert.Equal(AcceptOutcome.Accepted, h.Fx.Local[0].Outcome);
        Assert.Equal(AcceptOutcome.Coalesced, h.Fx.Local[1].Outcome);
        Assert.Equal(EsrSendIllegalVector, h.LatchEsr());
    }

    [Fact]
    public void Esr_ErrorLvtWithIllegalVector_RecordsReceiveErrorWithoutFiringAgain()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtError, 0x0000_070E);
        Assert.Equal(0x0Eu, h.R(ApicOffsets.LvtError));

        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | 0x05);

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(EsrSendIllegalVector | EsrReceiveIllegalVector, h.LatchEsr());
        Assert.Single(h.Fx.Local);
    }

    [Fact]
    public void Esr_X2ApicWriteZero_Latches()
    {
        using var h = ApicHarness.X2Apic();

        h.WrmsrOk(ApicMsrs.X2ApicSelfIpi, 0x05);

        Assert.Equal(0ul, h.RdmsrOk(0x828));
        h.WrmsrOk(0x828, 0);
        Assert.Equal((ulong)EsrSendIllegalVector, h.RdmsrOk(0x828));
        Assert.Equal(AccessResult.Fault, h.Wrmsr(0x828, 0x20));
        Assert.Equal((ulong)EsrSendIllegalVector, h.RdmsrOk(0x828));
    }

    [Fact]
    public void Esr_LvtSourceWithIllegalVector_RecordsReceiveError()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.LvtThermal, 0x0F);

        Assert.Equal(AcceptOutcome.DroppedIllegalVector, h.Apic.RaiseLocal(LvtSource.Thermal, 0, h.Fx));

        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(EsrReceiveIllegalVector, h.LatchEsr());
    }
}
