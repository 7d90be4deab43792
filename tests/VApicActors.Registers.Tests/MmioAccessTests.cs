using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>xAPIC MMIO access widths, alignment, reserved offsets and the page window (profile decision 14).</summary>
public sealed class MmioAccessTests
{
    [Theory]
    [InlineData(ApicOffsets.Version, 1, 0x14ul)]
    [InlineData(ApicOffsets.Version + 1, 1, 0x00ul)]
    [InlineData(ApicOffsets.Version + 2, 1, 0x06ul)]
    [InlineData(ApicOffsets.Version + 3, 1, 0x01ul)]
    [InlineData(ApicOffsets.Version, 2, 0x0014ul)]
    [InlineData(ApicOffsets.Version + 2, 2, 0x0106ul)]
    [InlineData(ApicOffsets.Version + 1, 2, 0x0600ul)]
    public void ReadMmio_NarrowInsideRegister_ReturnsAddressedBytes(uint offset, int size, ulong expected)
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(AccessResult.Of(expected), h.Read(offset, size));
    }

    [Theory]
    [InlineData(ApicOffsets.Version + 3, 2)]
    [InlineData(ApicOffsets.Version + 1, 4)]
    [InlineData(ApicOffsets.Version + 2, 4)]
    [InlineData(ApicOffsets.Version + 4, 4)]
    [InlineData(ApicOffsets.Version, 8)]
    [InlineData(ApicOffsets.Svr, 8)]
    public void ReadMmio_PastTheRegisterOrSixtyFourBit_ReturnsZeroWithoutError(uint offset, int size)
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(AccessResult.Of(0), h.Read(offset, size));
        Assert.Equal(0u, h.LatchEsr());
    }

    [Theory]
    [InlineData(1, ApicOffsets.Tpr)]
    [InlineData(2, ApicOffsets.Tpr)]
    [InlineData(8, ApicOffsets.Tpr)]
    [InlineData(4, ApicOffsets.Tpr + 1)]
    [InlineData(4, ApicOffsets.Tpr + 4)]
    [InlineData(4, ApicOffsets.Tpr + 8)]
    [InlineData(1, ApicOffsets.Tpr + 3)]
    public void WriteMmio_NarrowMisalignedOrSixtyFourBit_IsIgnoredWithoutError(int size, uint offset)
    {
        using var h = ApicHarness.XApic();

        var result = h.Write(offset, 0x5050_5050_5050_5050, size);

        Assert.Equal(AccessStatus.Ok, result.Status);
        Assert.Equal(0u, h.R(ApicOffsets.Tpr));
        Assert.Equal(0u, h.LatchEsr());
    }

    [Theory]
    [InlineData(1, 0u)]
    [InlineData(2, 0u)]
    [InlineData(8, 0u)]
    [InlineData(4, 4u)]
    [InlineData(4, 8u)]
    public void WriteMmio_NarrowMisalignedOrSixtyFourBitToIcrOrEsr_SendsNothingAndLatchesNothing(int size, uint within)
    {
        // Decision 14: such writes are ignored, also where a full write acts (the ICR-low send, the ESR latch).
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrLow, 0x05);
        h.Fx.Clear();

        h.Write(ApicOffsets.IcrLow + within, 0x0004_0041, size);
        h.Write(ApicOffsets.Esr + within, 0, size);

        Assert.Empty(h.Fx.Sent);
        Assert.Equal(0x05u, h.R(ApicOffsets.IcrLow));
        Assert.Equal(0u, h.R(ApicOffsets.Esr));
        Assert.Equal(EsrSendIllegalVector, h.LatchEsr());
    }

    [Fact]
    public void WriteMmio_NarrowEoi_DoesNotEndTheInterrupt()
    {
        using var h = ApicHarness.XApic();
        h.PutInService(0x40);

        h.Write(ApicOffsets.Eoi, 0, 1);
        h.Write(ApicOffsets.Eoi, 0, 8);

        Assert.True(h.Apic.Isr.Contains(0x40));
    }

    public static TheoryData<uint> ReservedOffsets()
    {
        var data = new TheoryData<uint> { 0x000, 0x010, 0x040, 0x050, 0x060, 0x070, 0x3A0, 0x3B0, 0x3C0, 0x3D0, ApicOffsets.SelfIpi, 0x400, 0x800, 0xFF0 };
        for (uint offset = 0x290; offset <= 0x2E0; offset += ApicOffsets.Stride)
        {
            data.Add(offset);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ReservedOffsets))]
    public void ReadMmio_ReservedOffset_ReadsZeroAndRecordsIllegalRegister(uint offset)
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(0u, h.R(offset));
        Assert.Equal(EsrIllegalRegister, h.LatchEsr());
    }

    [Theory]
    [MemberData(nameof(ReservedOffsets))]
    public void WriteMmio_ReservedOffset_IsIgnoredAndRecordsIllegalRegister(uint offset)
    {
        using var h = ApicHarness.XApic();

        h.W(offset, 0x41);

        Assert.Equal(EsrIllegalRegister, h.LatchEsr());
        Assert.Empty(h.Fx.Sent);
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.Equal(0u, h.R(offset));
    }

    [Fact]
    public void WriteMmio_NarrowToReservedOffset_RecordsNothing()
    {
        using var h = ApicHarness.XApic();

        h.Write(0x040, 0xFF, 1);

        Assert.Equal(0u, h.LatchEsr());
    }

    [Theory]
    [InlineData(ApicOffsets.PageSize, 4)]
    [InlineData(ApicOffsets.PageSize + ApicOffsets.Tpr, 4)]
    [InlineData(0x10_0000, 4)]
    public void ReadMmio_OutsideThePage_ReadsAllOnes(int distance, int size)
    {
        using var h = ApicHarness.XApic();

        var result = h.Apic.ReadMmio(DefaultBase + (ulong)distance, size, 0, h.Fx);

        Assert.Equal(AccessResult.Of(0xFFFF_FFFF), result);
    }

    [Fact]
    public void ReadMmio_BelowThePage_ReadsAllOnesAndWritesAreIgnored()
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(AccessResult.Of(0xFF), h.Apic.ReadMmio(DefaultBase - 1, 1, 0, h.Fx));
        Assert.Equal(AccessResult.Of(ulong.MaxValue), h.Apic.ReadMmio(DefaultBase - 8, 8, 0, h.Fx));
        h.Apic.WriteMmio(DefaultBase - ApicOffsets.PageSize + ApicOffsets.Tpr, 4, 0x50, 0, h.Fx);
        h.Apic.WriteMmio(DefaultBase + ApicOffsets.PageSize + ApicOffsets.Tpr, 4, 0x50, 0, h.Fx);

        Assert.Equal(0u, h.R(ApicOffsets.Tpr));
        Assert.Equal(0u, h.LatchEsr());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(16)]
    public void ReadMmio_InvalidSize_IsAProgrammerError(int size)
    {
        using var h = ApicHarness.XApic();

        Assert.Throws<ArgumentOutOfRangeException>(() => h.Read(ApicOffsets.Tpr, size));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Write(ApicOffsets.Tpr, 0, size));
    }

    [Fact]
    public void ReadMmio_EveryRegisterOffset_WorksAtAllWidths()
    {
        using var h = ApicHarness.XApic(0x5A);
        h.W(ApicOffsets.Tpr, 0x3C);

        for (uint offset = 0; offset < ApicOffsets.PageSize; offset += ApicOffsets.Stride)
        {
            var whole = h.Read(offset).Value;
            for (uint b = 0; b < 4; b++)
            {
                Assert.Equal((whole >> (int)(8 * b)) & 0xFF, h.Read(offset + b, 1).Value);
            }
            Assert.Equal(whole & 0xFFFF, h.Read(offset, 2).Value);
            Assert.Equal(whole >> 16, h.Read(offset + 2, 2).Value);
        }
        Assert.Equal(0x5Au, h.Read(ApicOffsets.Id + 3, 1).Value);
        Assert.Equal(0x3Cu, h.Read(ApicOffsets.Tpr, 1).Value);
    }
}
