using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Behaviour family B: what each register keeps of a write (profile decision 1, SDM Table 10-1).</summary>
public sealed class WriteMaskTests
{
    private const uint AllOnes = 0xFFFF_FFFF;

    [Fact]
    public void Tpr_WriteAllOnes_KeepsBits7To0AndPprFollows()
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.Tpr, AllOnes);

        Assert.Equal(0xFFu, h.R(ApicOffsets.Tpr));
        Assert.Equal(0xFFu, h.R(ApicOffsets.Ppr));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(0x42u)]
    public void Id_XApicWrite_IsIgnored(uint id)
    {
        using var h = ApicHarness.XApic(id, bsp: id == 0);

        h.W(ApicOffsets.Id, AllOnes);
        h.W(ApicOffsets.Id, (id + 1) << 24);

        Assert.Equal(id << 24, h.R(ApicOffsets.Id));
        Assert.Empty(h.Fx.RoutingChanges);
        Assert.Equal(0u, h.LatchEsr());
    }

    [Fact]
    public void Ldr_WriteAllOnes_KeepsBits31To24AndReportsRouting()
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.Ldr, AllOnes);

        Assert.Equal(0xFF00_0000u, h.R(ApicOffsets.Ldr));
        Assert.Equal(0xFF00_0000u, h.Fx.RoutingChanges[^1].Ldr);
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu, 0xFFFF_FFFFu)]
    [InlineData(0u, 0x0FFF_FFFFu)]
    [InlineData(0x5A5A_5A5Au, 0x5FFF_FFFFu)]
    public void Dfr_Write_KeepsModelBitsAndForcesBits27To0(uint written, uint expected)
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.Dfr, written);

        Assert.Equal(expected, h.R(ApicOffsets.Dfr));
        Assert.Equal((byte)(expected >> 28), h.Fx.RoutingChanges[^1].DfrModel);
    }

    [Fact]
    public void Svr_WriteAllOnes_KeepsVectorEnableFocusAndSuppressBits()
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.Svr, AllOnes);

        Assert.Equal(SvrWritable, h.R(ApicOffsets.Svr));
    }

    [Fact]
    public void Svr_VectorBits_AreAllWritable()
    {
        using var h = ApicHarness.XApic();

        for (uint vector = 0; vector < VectorCount; vector++)
        {
            h.W(ApicOffsets.Svr, 0x100 | vector);
            Assert.Equal(0x100 | vector, h.R(ApicOffsets.Svr));
        }
    }

    [Theory]
    [InlineData(ApicOffsets.LvtTimer, LvtTimerMask)]
    [InlineData(ApicOffsets.LvtThermal, LvtLocalMask)]
    [InlineData(ApicOffsets.LvtPmc, LvtLocalMask)]
    [InlineData(ApicOffsets.LvtCmci, LvtLocalMask)]
    [InlineData(ApicOffsets.LvtLint0, LvtLintMask)]
    [InlineData(ApicOffsets.LvtLint1, LvtLintMask)]
    [InlineData(ApicOffsets.LvtError, LvtErrorMask)]
    public void Lvt_WriteAllOnes_ReadsArchitecturalMask(uint offset, uint expected)
    {
        using var h = ApicHarness.XApic();

        h.W(offset, AllOnes);

        Assert.Equal(expected, h.R(offset));
    }

    [Theory]
    [InlineData(ApicOffsets.LvtTimer, LvtTimerMask)]
    [InlineData(ApicOffsets.LvtThermal, LvtLocalMask)]
    [InlineData(ApicOffsets.LvtPmc, LvtLocalMask)]
    [InlineData(ApicOffsets.LvtCmci, LvtLocalMask)]
    [InlineData(ApicOffsets.LvtLint0, LvtLintMask)]
    [InlineData(ApicOffsets.LvtLint1, LvtLintMask)]
    [InlineData(ApicOffsets.LvtError, LvtErrorMask)]
    public void Lvt_EverySingleBit_IsKeptExactlyWhenInTheMask(uint offset, uint mask)
    {
        using var h = ApicHarness.XApic();

        for (var bit = 0; bit < 32; bit++)
        {
            var value = 1u << bit;
            h.W(offset, value);
            Assert.Equal(value & mask, h.R(offset));
        }
    }

    [Theory]
    [InlineData(ApicOffsets.LvtTimer, 0x0000_07EEu, 0x0000_00EEu)]
    [InlineData(ApicOffsets.LvtError, 0x0000_070Eu, 0x0000_000Eu)]
    [InlineData(ApicOffsets.LvtThermal, 0x0000_0200u, 0x0000_0200u)]
    [InlineData(ApicOffsets.LvtTimer, 0x0004_00EFu, 0x0004_00EFu)]
    [InlineData(ApicOffsets.LvtTimer, 0x0002_10EEu, 0x0002_00EEu)]
    [InlineData(ApicOffsets.LvtLint0, 0x0000_5031u, 0x0000_0031u)]
    public void Lvt_Write_DropsFieldsTheEntryDoesNotHave(uint offset, uint written, uint expected)
    {
        using var h = ApicHarness.XApic();

        h.W(offset, written);

        Assert.Equal(expected, h.R(offset));
    }

    [Theory]
    [InlineData(0x0u, 0x0u)]
    [InlineData(0x4u, 0x0u)]
    [InlineData(0xFu, 0xBu)]
    [InlineData(0xFFFF_FFFFu, 0xBu)]
    [InlineData(0xFFFF_FFF8u, 0x8u)]
    public void Dcr_Write_ReadsBackValueAndB(uint written, uint expected)
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.TimerDivide, written);

        Assert.Equal(expected, h.R(ApicOffsets.TimerDivide));
    }

    [Fact]
    public void IcrHigh_WriteAllOnes_KeepsDestinationByteAndSendsNothing()
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.IcrHigh, AllOnes);

        Assert.Equal(0xFF00_0000u, h.R(ApicOffsets.IcrHigh));
        Assert.Empty(h.Fx.Sent);
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu)]
    [InlineData(0x0000_5031u)]
    [InlineData(0x0000_4031u)]
    [InlineData(0xA5A5_A5A5u)]
    [InlineData(0x5A5A_5A5Au)]
    [InlineData(0x000C_4500u)]
    public void IcrLow_Write_ReadsBackWritableBitsWithDeliveryStatusIdle(uint written)
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.IcrLow, written);

        Assert.Equal(written & IcrLowWritable & ~IcrDeliveryStatus, h.R(ApicOffsets.IcrLow));
    }

    public static TheoryData<uint> ReadOnlyRegisters()
    {
        var data = new TheoryData<uint> { ApicOffsets.Version, ApicOffsets.Apr, ApicOffsets.Ppr, ApicOffsets.Rrd, ApicOffsets.TimerCurrentCount };
        for (uint word = 0; word < 8; word++)
        {
            data.Add(ApicOffsets.Isr0 + word * ApicOffsets.Stride);
            data.Add(ApicOffsets.Tmr0 + word * ApicOffsets.Stride);
            data.Add(ApicOffsets.Irr0 + word * ApicOffsets.Stride);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ReadOnlyRegisters))]
    public void ReadOnlyRegister_XApicWrite_IsIgnoredWithoutError(uint offset)
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Tpr, 0x20);
        h.PutInService(0x61, TriggerMode.Level);
        h.Inject(0x45);
        h.Inject(0xE3, TriggerMode.Level);
        h.W(ApicOffsets.TimerDivide, DcrDivideBy1);
        h.W(ApicOffsets.TimerInitialCount, 1000);
        h.Now = 250;
        var before = h.R(offset);
        var irr = h.Apic.Irr;
        var isr = h.Apic.Isr;
        var tmr = h.Apic.Tmr;

        h.W(offset, AllOnes);

        Assert.Equal(before, h.R(offset));
        Assert.Equal(irr, h.Apic.Irr);
        Assert.Equal(isr, h.Apic.Isr);
        Assert.Equal(tmr, h.Apic.Tmr);
        Assert.Equal(0u, h.LatchEsr());
    }

    [Theory]
    [InlineData(ApicOffsets.Eoi)]
    [InlineData(ApicOffsets.Rrd)]
    [InlineData(ApicOffsets.Apr)]
    public void WriteOnlyOrUnmodelledRegister_Read_ReturnsZero(uint offset)
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Tpr, 0x30);
        h.PutInService(0x80);

        Assert.Equal(0u, h.R(offset));
    }
}
