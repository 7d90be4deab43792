using System.Buffers.Binary;
using VApicActors.Registers;
using Xunit;

namespace VApicActors.Registers.Tests;

/// <summary>
/// <see cref="LocalApic.StateFromKvmLapicState"/>: an APIC rebuilt from the 1 KiB that <c>KVM_GET_LAPIC</c> returns
/// gives back the same 1 KiB, and goes on from there as the APIC it was taken from would.
/// </summary>
public sealed class KvmLapicStateTests
{
    /// <summary>An xAPIC with something in every register the structure holds, and a periodic timer half-way through its count.</summary>
    private static ApicHarness Busy(bool x2Apic, uint id)
    {
        var h = x2Apic ? ApicHarness.X2Apic(id, bsp: false) : ApicHarness.XApic(id, bsp: false);
        void Write(uint offset, uint value)
        {
            if (x2Apic)
            {
                h.WrmsrOk(ApicHarness.Msr(offset), value);
            }
            else
            {
                h.W(offset, value);
            }
        }
        Write(ApicOffsets.Tpr, 0x20);
        if (!x2Apic)
        {
            h.W(ApicOffsets.Ldr, 0x0400_0000);
            h.W(ApicOffsets.Dfr, 0x0FFF_FFFF);
        }
        Write(ApicOffsets.LvtLint0, 0x0000_0700);
        Write(ApicOffsets.LvtError, 0x0000_00FE);
        Write(ApicOffsets.TimerDivide, 0x3);
        Write(ApicOffsets.LvtTimer, 0x0002_00EC);
        Write(ApicOffsets.TimerInitialCount, 100_000);
        h.Now = 700_000;
        h.Inject(0x61);
        Assert.Equal(0x61, h.Ack());
        h.Inject(0x51);
        h.Inject(0x91, TriggerMode.Level);
        return h;
    }

    [Theory]
    [InlineData(false, 3u)]
    [InlineData(true, 3u)]
    [InlineData(true, 0x1234u)]
    public void ARunningApic_ExportedAndImported_GivesTheSameStructure_AndTheSameRegisters(bool x2Apic, uint id)
    {
        using var h = Busy(x2Apic, id);
        var regs = h.Apic.ToKvmLapicState(h.Now);
        var expected = h.Apic.Snapshot(h.Now);

        var state = LocalApic.StateFromKvmLapicState(1, regs, x2Apic);
        using var imported = new LocalApic(new ApicConfig(1, id, false, x2Apic));
        imported.Restore(state, 0, NullApicEffects.Instance);
        var actual = imported.Snapshot(0);

        Assert.Equal(id, state.InitialApicId);
        Assert.Equal(id, actual.ApicId);
        Assert.Equal(expected.Mode, actual.Mode);
        Assert.Equal((expected.Irr, expected.Isr, expected.Tmr), (actual.Irr, actual.Isr, actual.Tmr));
        Assert.Equal((expected.Tpr, expected.Ppr, expected.Svr, expected.Ldr, expected.Dfr, expected.Esr), (actual.Tpr, actual.Ppr, actual.Svr, actual.Ldr, actual.Dfr, actual.Esr));
        Assert.Equal((expected.LvtTimer, expected.LvtLint0, expected.LvtLint1, expected.LvtError), (actual.LvtTimer, actual.LvtLint0, actual.LvtLint1, actual.LvtError));
        Assert.Equal((expected.TimerInitialCount, expected.TimerCurrentCount, expected.TimerDivide), (actual.TimerInitialCount, actual.TimerCurrentCount, actual.TimerDivide));
        Assert.Equal(expected.PendingVector, actual.PendingVector);
        Assert.Equal(expected.TimerDueNs - h.Now, actual.TimerDueNs);
        Assert.Equal(regs, imported.ToKvmLapicState(0));
    }

    [Theory]
    [InlineData(0x0u)]
    [InlineData(0x1Fu)]
    [InlineData(0x123u)]
    [InlineData(0x0100_0000u)]
    [InlineData(0xFFFF_FFFEu)]
    public void AnX2ApicExport_HoldsTheWhole32BitId_AndImportsAsThatId(uint id)
    {
        // KVM_GET_LAPIC with KVM_X2APIC_API_USE_32BIT_IDS: the ID register is the x2APIC ID, all 32 bits; id << 24
        // would lose every ID above 0xFF (0x123 became 0x23).
        using var h = ApicHarness.X2Apic(id, bsp: false);
        var regs = h.Apic.ToKvmLapicState(0);

        Assert.Equal(id, BinaryPrimitives.ReadUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Id)));
        Assert.Equal(DestinationMatcher.X2ApicLdr(id), BinaryPrimitives.ReadUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Ldr)));
        Assert.Equal(id, LocalApic.ApicIdOfKvmLapicState(regs, x2Apic: true));
        Assert.Equal(id, LocalApic.StateFromKvmLapicState(1, regs, x2Apic: true).InitialApicId);
    }

    [Theory]
    [InlineData(0x1u, true)]
    [InlineData(0xFEu, true)]
    [InlineData(0x3u, false)]
    public void AnX2ApicStructureWithTheShiftedId_StillImportsAsThatId(uint id, bool withLdr)
    {
        // KVM without KVM_X2APIC_API_USE_32BIT_IDS reports id << 24; its LDR is the one of the ID, not of id << 24.
        // A structure whose LDR is neither's (an xAPIC one) is read the older way too.
        var regs = new byte[LocalApic.KvmLapicStateSize];
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Id), id << 24);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Ldr), withLdr ? DestinationMatcher.X2ApicLdr(id) : 0);

        Assert.Equal(id, LocalApic.ApicIdOfKvmLapicState(regs, x2Apic: true));
    }

    [Fact]
    public void AnX2ApicImport_TakesTheLdrFromTheId_AsKvmSetLapicDoes()
    {
        // In x2APIC mode the LDR is fixed by the ID; KVM_SET_LAPIC recomputes it, whatever the structure says.
        using var h = ApicHarness.X2Apic(0x1F, bsp: false);
        var regs = h.Apic.ToKvmLapicState(0);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Ldr), 0);

        var state = LocalApic.StateFromKvmLapicState(1, regs, x2Apic: true);
        using var imported = new LocalApic(new ApicConfig(1, 0x1F, false, StartInX2Apic: true));
        imported.Restore(state, 0, NullApicEffects.Instance);

        Assert.Equal(0x0001_8000u, imported.Snapshot(0).Ldr);
    }

    [Fact]
    public void AnImportedPeriodicTimer_FiresWhenTheOriginalWould_ThenReloadsTheInitialCount()
    {
        using var h = Busy(x2Apic: false, id: 2);
        var regs = h.Apic.ToKvmLapicState(h.Now);
        using var imported = new LocalApic(new ApicConfig(0, 2, true, false));
        imported.Restore(LocalApic.StateFromKvmLapicState(0, regs, x2Apic: false), 0, NullApicEffects.Instance);

        var due = h.Apic.TimerDue!.Value;
        Assert.Equal(due - h.Now, imported.TimerDue);
        Assert.Equal(1UL, h.Apic.ExpireTimers(due, NullApicEffects.Instance));
        Assert.Equal(1UL, imported.ExpireTimers(due - h.Now, NullApicEffects.Instance));
        // Divide by 16, 100 000 counts at 1 GHz: the next expiry one period later on both.
        Assert.Equal(1_600_000, imported.TimerDue - (due - h.Now));
        Assert.Equal(h.Apic.TimerDue - h.Now, imported.TimerDue);
        Assert.True(imported.Snapshot(imported.TimerDue!.Value - 1).Irr.Contains(0xEC));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(5000u)]
    public void APeriodicTimerWhoseCurrentCountIsZeroOrAboveTheInitial_GoesOnAPeriodLater_AsKvmSetLapicHasIt(uint current)
    {
        // KVM_GET_LAPIC rounds TMCCT down, so a periodic timer within a count of its expiry reads 0; it still runs, and
        // KVM_SET_LAPIC starts it a whole period on, as it does for a TMCCT above TMICT. Such a timer must not stop.
        var regs = new byte[LocalApic.KvmLapicStateSize];
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Id), 2u << 24);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Svr), 0x1FF);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.LvtTimer), 0x0002_00EC);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.TimerDivide), 0xB);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.TimerInitialCount), 1000);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.TimerCurrentCount), current);

        var state = LocalApic.StateFromKvmLapicState(0, regs, x2Apic: false);
        using var apic = new LocalApic(new ApicConfig(0, 2, true));
        apic.Restore(state, 0, NullApicEffects.Instance);

        Assert.True(state.TimerRunning);
        Assert.Equal(1000, apic.TimerDue);
        Assert.Equal(1000u, apic.Snapshot(0).TimerCurrentCount);
        Assert.Equal(1UL, apic.ExpireTimers(1000, NullApicEffects.Instance));
        Assert.Equal(2000, apic.TimerDue);
    }

    [Fact]
    public void TheModelsOwnRegisters_AreTheModels_AndAStoppedTimerStaysStopped()
    {
        var regs = new byte[LocalApic.KvmLapicStateSize];
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Id), 5u << 24);
        // A version of another APIC (six LVTs, no EOI-broadcast suppression); a one-shot timer that ran out.
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Version), 0x0005_0014);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Svr), 0x1FF);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.LvtTimer), 0xEC);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.TimerInitialCount), 500);

        var state = LocalApic.StateFromKvmLapicState(0, regs, x2Apic: false);
        using var apic = new LocalApic(new ApicConfig(0, 5, true, false));
        apic.Restore(state, 0, NullApicEffects.Instance);

        // This model's version register (docs/decisions.md): what the model does is what the version says.
        Assert.Equal(0x0106_0014u, apic.ReadMmio(Consts.DefaultBase + ApicOffsets.Version, 4, 0, NullApicEffects.Instance).Value);
        Assert.Equal(Consts.BspXApic, state.ApicBase);
        Assert.Equal(VcpuRunState.Running, state.RunState);
        Assert.False(state.TimerRunning);
        Assert.Null(apic.TimerDue);
        Assert.Equal(0u, apic.Snapshot(0).TimerCurrentCount);
        Assert.Equal(500u, apic.Snapshot(0).TimerInitialCount);
    }

    [Fact]
    public void RandomStructures_ImportRestoreAndRun_WithoutAnException()
    {
        // What a VMM hands over may be anything: every bit pattern must give an APIC that restores and runs on.
        var random = new Random(0x1a91c);
        var regs = new byte[LocalApic.KvmLapicStateSize];
        for (var n = 0; n < 400; n++)
        {
            random.NextBytes(regs);
            var x2Apic = n % 2 == 1;
            var state = LocalApic.StateFromKvmLapicState(n % 7, regs, x2Apic, timerHz: 1 + random.NextInt64(2_000_000_000));
            using var apic = new LocalApic(new ApicConfig(n % 7, state.InitialApicId, n % 7 == 0, x2Apic, TimerHz: 1 + random.NextInt64(2_000_000_000)));
            var fx = new RecordingEffects();
            apic.Restore(state, 0, fx);
            var now = 0L;
            for (var step = 0; step < 20; step++)
            {
                now += random.Next(1, 5_000_000);
                apic.ExpireTimers(now, fx);
                if (apic.Acknowledge(now, fx).IsOk)
                {
                    apic.Eoi(now, fx);
                }
                apic.Accept(InterruptMessage.Fixed((byte)random.Next(256)), now, fx);
                var offset = (uint)random.Next(0x40) << 4;
                if (x2Apic)
                {
                    apic.ReadMsr(ApicOffsets.ToMsr(offset), now, fx);
                }
                else
                {
                    apic.ReadMmio(Consts.DefaultBase + offset, 4, now, fx);
                }
            }
            Assert.Equal(regs.Length, apic.ToKvmLapicState(now).Length);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1023)]
    [InlineData(4096)]
    public void AStructureOfAnotherSize_IsRefused(int size)
    {
        var e = Assert.Throws<ArgumentException>(() => LocalApic.StateFromKvmLapicState(0, new byte[size], x2Apic: false));
        Assert.Contains($"not {size}", e.Message);
    }
}
