using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Behaviour family G: the x2APIC MSR interface and its #GP matrix (SDM 10.12.1, profile decisions 2 and 3).</summary>
public sealed class X2ApicMsrTests
{
    private const uint Cmci = 0x82F;

    /// <summary>Readable and writable x2APIC MSRs.</summary>
    private static readonly uint[] ReadWrite =
    [
        0x808, 0x80F, 0x828, Cmci, ApicMsrs.X2ApicIcr, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837, 0x838, 0x83E,
    ];

    /// <summary>Read-only x2APIC MSRs: ID, LVR, PPR, LDR, ISR, TMR, IRR, TMCCT.</summary>
    private static readonly uint[] ReadOnly =
    [
        0x802, 0x803, 0x80A, 0x80D, .. Enumerable.Range(0x810, 0x18).Select(m => (uint)m), 0x839,
    ];

    /// <summary>Write-only x2APIC MSRs: EOI and SELF IPI.</summary>
    private static readonly uint[] WriteOnly = [ApicMsrs.X2ApicEoi, ApicMsrs.X2ApicSelfIpi];

    public static TheoryData<uint> AllX2ApicMsrs()
    {
        var data = new TheoryData<uint>();
        for (var msr = ApicMsrs.X2ApicFirst; msr <= ApicMsrs.X2ApicLast; msr++) data.Add(msr);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllX2ApicMsrs))]
    public void ReadMsr_X2ApicMode_FaultsExactlyWhereNotReadable(uint msr)
    {
        using var h = ApicHarness.X2Apic(1, bsp: false);

        var readable = ReadWrite.Contains(msr) || ReadOnly.Contains(msr);

        Assert.Equal(readable ? AccessStatus.Ok : AccessStatus.GeneralProtection, h.Rdmsr(msr).Status);
    }

    [Theory]
    [MemberData(nameof(AllX2ApicMsrs))]
    public void WriteMsr_X2ApicModeZero_FaultsExactlyWhereNotWritable(uint msr)
    {
        using var h = ApicHarness.X2Apic(1, bsp: false);

        var writable = ReadWrite.Contains(msr) || WriteOnly.Contains(msr);
        var value = msr == ApicMsrs.X2ApicSelfIpi ? 0x40ul : 0ul;

        Assert.Equal(writable ? AccessStatus.Ok : AccessStatus.GeneralProtection, h.Wrmsr(msr, value).Status);
    }

    [Theory]
    [MemberData(nameof(AllX2ApicMsrs))]
    public void Msr_XApicOrDisabledMode_AlwaysFaults(uint msr)
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(AccessResult.Fault, h.Rdmsr(msr));
        Assert.Equal(AccessResult.Fault, h.Wrmsr(msr, 0));

        h.WrmsrOk(ApicMsrs.ApicBase, BspDisabled);
        Assert.Equal(AccessResult.Fault, h.Rdmsr(msr));
        Assert.Equal(AccessResult.Fault, h.Wrmsr(msr, 0));
    }

    [Theory]
    [MemberData(nameof(AllX2ApicMsrs))]
    public void WriteMsr_UpperHalfSet_FaultsForEveryMsrButTheIcr(uint msr)
    {
        using var h = ApicHarness.X2Apic(1, bsp: false);
        var before = h.Apic.Snapshot(0);

        var result = h.Wrmsr(msr, 1UL << 32);

        if (msr == ApicMsrs.X2ApicIcr)
        {
            Assert.Equal(AccessResult.Done, result);
        }
        else
        {
            Assert.Equal(AccessResult.Fault, result);
            Assert.Equal(before, h.Apic.Snapshot(0));
        }
    }

    [Fact]
    public void WriteMsr_ReadWriteRegisters_RoundTripTheirValues()
    {
        using var h = ApicHarness.X2Apic(1, bsp: false);
        h.WrmsrOk(0x808, 0x5C);
        h.WrmsrOk(0x832, TimerPeriodic | 0xEE);
        h.WrmsrOk(0x835, LvtLevel | LvtActiveLow | 0x31);
        h.WrmsrOk(0x836, LvtNmi);
        h.WrmsrOk(0x837, 0xFE);
        h.WrmsrOk(0x83E, 0x9);

        foreach (var msr in ReadWrite)
        {
            var value = h.RdmsrOk(msr);
            h.WrmsrOk(msr, value);
            Assert.Equal(value, h.RdmsrOk(msr));
        }
    }

    [Fact]
    public void WriteMsr_X2ApicId_FaultsAndIdKeepsInitialValue()
    {
        using var h = ApicHarness.X2Apic(3, bsp: false);

        Assert.Equal(AccessResult.Fault, h.Wrmsr(ApicHarness.Msr(ApicOffsets.Id), 1));
        Assert.Equal(3ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Id)));
    }

    [Theory]
    [InlineData(0u, 0x0000_0001u)]
    [InlineData(1u, 0x0000_0002u)]
    [InlineData(0x0Fu, 0x0000_8000u)]
    [InlineData(0x11u, 0x0001_0002u)]
    [InlineData(0x2Fu, 0x0002_8000u)]
    [InlineData(0x123u, 0x0012_0008u)]
    [InlineData(0xFFFF_FFFEu, 0xFFFF_4000u)]
    public void Ldr_X2Apic_IsDerivedFromTheIdAndReadOnly(uint id, uint ldr)
    {
        using var h = ApicHarness.X2Apic(id, bsp: false);

        Assert.Equal(ldr, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Ldr)));
        Assert.Equal(ldr, DestinationMatcher.X2ApicLdr(id));
        Assert.Equal(ldr, h.Apic.Identity.Ldr);
        Assert.Equal(AccessResult.Fault, h.Wrmsr(ApicHarness.Msr(ApicOffsets.Ldr), 0));
        Assert.Equal(ldr, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Ldr)));
    }

    [Fact]
    public void Version_X2ApicWrite_Faults()
    {
        using var h = ApicHarness.X2Apic();

        Assert.Equal(AccessResult.Fault, h.Wrmsr(ApicHarness.Msr(ApicOffsets.Version), ApicVersion));
        Assert.Equal(ApicVersion, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Version)));
    }

    [Fact]
    public void WriteMsr_Icr_SendsDecodedIpiAndReadsBackSixtyFourBits()
    {
        using var h = ApicHarness.X2Apic();

        h.WrmsrOk(ApicMsrs.X2ApicIcr, 0x0000_0001_0000_4055);

        var request = Assert.Single(h.Fx.Sent);
        Assert.Equal(new InterruptRequest(DeliveryMode.Fixed, 0x55, TriggerMode.Edge, true, false, DestinationShorthand.None, 1, true), request);
        Assert.Equal(0x0000_0001_0000_4055ul, h.RdmsrOk(ApicMsrs.X2ApicIcr));
    }

    [Fact]
    public void WriteMsr_IcrDeliveryStatusBit_IsIgnoredNotFaulted()
    {
        using var h = ApicHarness.X2Apic();

        h.WrmsrOk(ApicMsrs.X2ApicIcr, 0x0000_0001_0000_5055);

        Assert.Single(h.Fx.Sent);
        Assert.Equal(0x0000_0001_0000_4055ul, h.RdmsrOk(ApicMsrs.X2ApicIcr));
    }

    [Fact]
    public void WriteMsr_IcrEveryReservedBit_FaultsAndSendsNothing()
    {
        using var h = ApicHarness.X2Apic();
        for (var bit = 0; bit < 32; bit++)
        {
            var mask = 1u << bit;
            if ((IcrX2ApicReserved & mask) == 0) continue;

            Assert.Equal(AccessResult.Fault, h.Wrmsr(ApicMsrs.X2ApicIcr, 0x0000_0001_0000_4055ul | mask));
        }
        Assert.Empty(h.Fx.Sent);
        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.X2ApicIcr));
    }

    [Fact]
    public void WriteMsr_IcrHighMsr_Faults()
    {
        using var h = ApicHarness.X2Apic();

        Assert.Equal(AccessResult.Fault, h.Wrmsr(ApicMsrs.X2ApicIcr + 1, 0));
        Assert.Equal(AccessResult.Fault, h.Rdmsr(ApicMsrs.X2ApicIcr + 1));
    }

    [Fact]
    public void WriteMsr_Broadcasts_AreJudgedInX2ApicFormat()
    {
        using var h = ApicHarness.X2Apic();

        h.WrmsrOk(ApicMsrs.X2ApicIcr, 0xFFFF_FFFF_0000_40CF);
        h.WrmsrOk(ApicMsrs.X2ApicIcr, 0x0000_00FF_0000_40CF);

        Assert.True(h.Fx.Sent[0].IsBroadcast);
        Assert.False(h.Fx.Sent[1].IsBroadcast);
        Assert.Equal(0xFFu, h.Fx.Sent[1].Destination);
    }

    [Fact]
    public void WriteMsr_EnteringX2Apic_ClearsIcrDestination()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);
        h.W(ApicOffsets.IcrLow, 0x0000_4031);

        h.WrmsrOk(ApicMsrs.ApicBase, BspX2Apic);

        Assert.Equal(0ul, h.RdmsrOk(ApicMsrs.X2ApicIcr) >> 32);
    }

    public static TheoryData<uint, ulong> ReservedBitWrites() => new()
    {
        { 0x808, 0x100 },
        { 0x808, 0x8000_0000 },
        { 0x80F, 0x400 },
        { 0x80F, 0x800 },
        { 0x80F, 0x2000 },
        { 0x80F, 0x1_0000 },
        { 0x832, 0x100 },
        { 0x832, 0x700 },
        { 0x832, 0x2000 },
        { 0x832, 0x8000 },
        { 0x832, 0x10_0000 },
        { 0x833, 0x800 },
        { 0x833, 0x2000 },
        { 0x833, 0x8000 },
        { 0x834, 0x2_0000 },
        { Cmci, 0x8000_0000 },
        { 0x835, 0x800 },
        { 0x835, 0x2_0000 },
        { 0x836, 0x10_0000 },
        { 0x837, 0x100 },
        { 0x837, 0x2000 },
        { 0x837, 0x2_0000 },
        { 0x828, 0x1 },
        { 0x828, 0x20 },
        { ApicMsrs.X2ApicSelfIpi, 0x100 },
        { ApicMsrs.X2ApicSelfIpi, 0xFF00 },
        { ApicMsrs.X2ApicSelfIpi, 0xFF00_0000 },
    };

    [Theory]
    [MemberData(nameof(ReservedBitWrites))]
    public void WriteMsr_ReservedBitSet_FaultsAndChangesNothing(uint msr, ulong value)
    {
        using var h = ApicHarness.X2Apic();
        h.WrmsrOk(0x832, 0xEE);
        var before = h.Apic.Snapshot(0);

        Assert.Equal(AccessResult.Fault, h.Wrmsr(msr, value));
        Assert.Equal(before, h.Apic.Snapshot(0));
        Assert.Empty(h.Fx.Sent);
    }

    [Theory]
    [InlineData(0x832u, 0x0000_50EEu, 0x0000_00EEu)]
    [InlineData(0x835u, 0x0000_D031u, 0x0000_8031u)]
    [InlineData(0x836u, 0x0000_1400u, 0x0000_0400u)]
    [InlineData(0x837u, 0x0000_10FEu, 0x0000_00FEu)]
    [InlineData(0x83Eu, 0xFFFF_FFFFu, 0x0000_000Bu)]
    [InlineData(0x83Eu, 0x0000_0014u, 0x0000_0000u)]
    public void WriteMsr_ReadOnlyOrDroppedBits_AreIgnoredWithoutFault(uint msr, uint written, uint expected)
    {
        using var h = ApicHarness.X2Apic();

        h.WrmsrOk(msr, written);

        Assert.Equal((ulong)expected, h.RdmsrOk(msr));
    }

    [Fact]
    public void WriteMsr_SelfIpi_SendsFixedEdgeToSelfAndLandsInIrr()
    {
        using var h = ApicHarness.X2Apic(5, bsp: false);

        h.WrmsrOk(ApicMsrs.X2ApicSelfIpi, 0x41);

        var request = Assert.Single(h.Fx.Sent);
        Assert.Equal(DeliveryMode.Fixed, request.Mode);
        Assert.Equal(0x41, request.Vector);
        Assert.Equal(TriggerMode.Edge, request.Trigger);
        Assert.Equal(DestinationShorthand.Self, request.Shorthand);
        Assert.Equal([AcceptOutcome.Accepted], h.Loopback());
        Assert.Equal(2ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Irr0 + 2 * ApicOffsets.Stride)));
        Assert.Equal(0x41, h.Ack());
    }

    [Fact]
    public void WriteMsr_SelfIpiEveryVector_SendsLegalOnesAndRecordsIllegalOnes()
    {
        using var h = ApicHarness.X2Apic();
        for (var vector = 0; vector < VectorCount; vector++)
        {
            h.WrmsrOk(ApicMsrs.X2ApicSelfIpi, (ulong)vector);
            if (vector < FirstLegalVector)
            {
                Assert.Empty(h.Fx.Sent);
                Assert.Equal(EsrSendIllegalVector, h.LatchEsr());
            }
            else
            {
                Assert.Equal((byte)vector, Assert.Single(h.Fx.Sent).Vector);
                Assert.Equal(0u, h.LatchEsr());
            }
            h.Fx.Clear();
        }
    }

    [Fact]
    public void ReadMsr_SelfIpi_Faults()
    {
        using var h = ApicHarness.X2Apic();

        Assert.Equal(AccessResult.Fault, h.Rdmsr(ApicMsrs.X2ApicSelfIpi));
    }

    [Fact]
    public void WriteMmio_SelfIpiOffsetInXApic_DoesNothing()
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.SelfIpi, 0x41);

        Assert.Empty(h.Fx.Sent);
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void WriteMsr_TprAndPpr_TrackEachOther()
    {
        using var h = ApicHarness.X2Apic();
        h.PutInService(0x51);

        h.WrmsrOk(0x808, 0x62);
        Assert.Equal(0x62ul, h.RdmsrOk(0x80A));
        h.WrmsrOk(0x808, 0x35);
        Assert.Equal(0x50ul, h.RdmsrOk(0x80A));
    }

    [Fact]
    public void ReadMsr_VectorSets_ReadTheirWords()
    {
        using var h = ApicHarness.X2Apic();
        h.PutInService(0x61, TriggerMode.Level);
        h.Inject(0xEE);

        Assert.Equal(2ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Isr0 + 3 * ApicOffsets.Stride)));
        Assert.Equal(2ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Tmr0 + 3 * ApicOffsets.Stride)));
        Assert.Equal(0x4000ul, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.Irr0 + 7 * ApicOffsets.Stride)));
    }
}
