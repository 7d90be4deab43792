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

    /// <summary>A structure with bits set that no APIC can hold, in every register that has such bits.</summary>
    private static byte[] WithBitsNoApicHolds(bool x2Apic, uint id)
    {
        var regs = new byte[LocalApic.KvmLapicStateSize];
        void Put(uint offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)offset), value);
        Put(ApicOffsets.Id, x2Apic ? id : id << 24);
        Put(ApicOffsets.Tpr, 0xFFFF_FF20);              // bits 31:8 reserved
        if (!x2Apic)
        {
            Put(ApicOffsets.Ldr, 0x0400_0ABC);          // bits 23:0 reserved
        }
        Put(ApicOffsets.Dfr, 0xF000_0000);              // bits 27:0 read as ones
        Put(ApicOffsets.Svr, 0xFFFF_FDFF);              // bits 31:13, 11:10 reserved
        Put(ApicOffsets.Isr0, 0x0001_0004);             // vector 2 is illegal; 16 is not
        Put(ApicOffsets.Tmr0, 0x0000_8000);             // vector 15
        Put(ApicOffsets.Irr0, 0x0002_0021);             // vectors 0 and 5; 17 stays
        Put(ApicOffsets.Esr, 0x0000_01E3u);             // checksum and accept errors, bit 8: never recorded here
        Put(ApicOffsets.LvtCmci, 0x0000_1800 | 0x40);   // delivery status, bit 11 reserved
        Put(ApicOffsets.IcrLow, 0xFFFF_30FD);           // 31:20, 17:16, 13 reserved, 12 delivery status
        Put(ApicOffsets.IcrHigh, x2Apic ? 0x0000_0007u : 0x07FF_FFFFu); // xAPIC: bits 23:0 reserved
        Put(ApicOffsets.LvtTimer, 0x0001_10EC);         // delivery status
        Put(ApicOffsets.LvtThermal, 0x0001_4000);       // remote IRR is the LINTs' alone
        Put(ApicOffsets.LvtPmc, 0xFFFE_0000);           // bits 31:17
        Put(ApicOffsets.LvtLint0, 0x0000_5700);         // delivery status, and remote IRR while edge-triggered
        Put(ApicOffsets.LvtLint1, 0x0000_C060);         // level-triggered with remote IRR: held
        Put(ApicOffsets.LvtError, 0x0000_07FE);         // delivery mode bits 10:8: the Error LVT has none
        Put(ApicOffsets.TimerDivide, 0xFFFF_FFF3);      // bits 31:4, 2 reserved
        return regs;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BitsNoApicCanHold_AreDroppedOnImport_AndSaidRegisterByRegister(bool x2Apic)
    {
        var regs = WithBitsNoApicHolds(x2Apic, 4);

        var state = LocalApic.StateFromKvmLapicState(1, regs, x2Apic, ApicConfig.DefaultHz, out var dropped);
        using var apic = new LocalApic(new ApicConfig(1, 4, false, x2Apic));
        apic.Restore(state, 0, NullApicEffects.Instance);
        var s = apic.Snapshot(0);

        Assert.Equal(0x20u, s.Tpr);
        Assert.Equal(0xFFFF_FFFFu, s.Dfr);
        Assert.Equal(0x11FFu, s.Svr);
        Assert.Equal([16], s.Isr.Vectors());
        Assert.Empty(s.Tmr.Vectors());
        Assert.Equal([17], s.Irr.Vectors());
        Assert.Equal(0xE0u, s.Esr);
        var kept = apic.ToKvmLapicState(0);
        uint Kept(uint offset) => BinaryPrimitives.ReadUInt32LittleEndian(kept.AsSpan((int)offset));
        Assert.Equal(0x0000_0040u, Kept(ApicOffsets.LvtCmci));
        Assert.Equal(0x0001_00ECu, s.LvtTimer);
        Assert.Equal(0x0001_0000u, Kept(ApicOffsets.LvtThermal));
        Assert.Equal(0x0000_0000u, Kept(ApicOffsets.LvtPmc));
        Assert.Equal(0x0000_0700u, s.LvtLint0);
        Assert.Equal(0x0000_C060u, s.LvtLint1);
        Assert.Equal(0x0000_00FEu, s.LvtError);
        Assert.Equal(0x3u, s.TimerDivide);
        Assert.Equal(0x000C_00FDu, Kept(ApicOffsets.IcrLow));
        Assert.Equal(x2Apic ? 0x7u : 0x0700_0000u, Kept(ApicOffsets.IcrHigh));
        if (!x2Apic)
        {
            Assert.Equal(0x0400_0000u, s.Ldr);
        }

        KvmLapicDroppedBits[] expected =
        [
            new(ApicOffsets.Tpr, 0xFFFF_FF00),
            .. x2Apic ? Array.Empty<KvmLapicDroppedBits>() : [new(ApicOffsets.Ldr, 0x0000_0ABC)],
            new(ApicOffsets.Svr, 0xFFFF_EC00),
            new(ApicOffsets.Isr0, 0x0000_0004),
            new(ApicOffsets.Tmr0, 0x0000_8000),
            new(ApicOffsets.Irr0, 0x0000_0021),
            new(ApicOffsets.Esr, 0x0000_0103),
            new(ApicOffsets.LvtCmci, 0x0000_1800),
            new(ApicOffsets.IcrLow, 0xFFF3_3000),
            .. x2Apic ? Array.Empty<KvmLapicDroppedBits>() : [new(ApicOffsets.IcrHigh, 0x00FF_FFFF)],
            new(ApicOffsets.LvtTimer, 0x0000_1000),
            new(ApicOffsets.LvtThermal, 0x0000_4000),
            new(ApicOffsets.LvtPmc, 0xFFFE_0000),
            new(ApicOffsets.LvtLint0, 0x0000_5000),
            new(ApicOffsets.LvtError, 0x0000_0700),
            new(ApicOffsets.TimerDivide, 0xFFFF_FFF0),
        ];
        Assert.Equal(expected, dropped);
        Assert.True(dropped.Single(d => d.Offset == ApicOffsets.Irr0).IsVectorSet);
        Assert.False(dropped.Single(d => d.Offset == ApicOffsets.Tpr).IsVectorSet);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ASoftwareDisabledApic_IsImportedWithEveryLvtMasked_AndTheMasksSetAreSaid(bool x2Apic)
    {
        // While SVR bit 8 is clear every LVT is masked, and a write cannot unmask one: an unmasked LVT there is a state
        // no APIC of the model reaches.
        var regs = new byte[LocalApic.KvmLapicStateSize];
        void Put(uint offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)offset), value);
        Put(ApicOffsets.Id, x2Apic ? 3u : 3u << 24);
        Put(ApicOffsets.Svr, 0x0000_00FF);
        Put(ApicOffsets.LvtCmci, 0x0001_0040);          // masked already: not said
        Put(ApicOffsets.LvtTimer, 0x0002_10EC);         // delivery status dropped, and masked
        Put(ApicOffsets.LvtLint0, 0x0000_0700);
        Put(ApicOffsets.LvtError, 0x0000_00FE);

        var state = LocalApic.StateFromKvmLapicState(1, regs, x2Apic, ApicConfig.DefaultHz, out var changed);
        using var apic = new LocalApic(new ApicConfig(1, 3, false, x2Apic));
        apic.Restore(state, 0, NullApicEffects.Instance);
        var s = apic.Snapshot(0);
        var kept = apic.ToKvmLapicState(0);
        uint Kept(uint offset) => BinaryPrimitives.ReadUInt32LittleEndian(kept.AsSpan((int)offset));

        Assert.Equal(0xFFu, s.Svr);
        Assert.Equal(0x0001_0040u, Kept(ApicOffsets.LvtCmci));
        Assert.Equal(0x0003_00ECu, s.LvtTimer);
        Assert.Equal(0x0001_0000u, Kept(ApicOffsets.LvtThermal));
        Assert.Equal(0x0001_0000u, Kept(ApicOffsets.LvtPmc));
        Assert.Equal(0x0001_0700u, s.LvtLint0);
        Assert.Equal(0x0001_0000u, s.LvtLint1);
        Assert.Equal(0x0001_00FEu, s.LvtError);
        KvmLapicDroppedBits[] expected =
        [
            new(ApicOffsets.LvtTimer, 0x0000_1000),
            new(ApicOffsets.LvtTimer, ApicBits.LvtMasked, Added: true),
            new(ApicOffsets.LvtThermal, ApicBits.LvtMasked, Added: true),
            new(ApicOffsets.LvtPmc, ApicBits.LvtMasked, Added: true),
            new(ApicOffsets.LvtLint0, ApicBits.LvtMasked, Added: true),
            new(ApicOffsets.LvtLint1, ApicBits.LvtMasked, Added: true),
            new(ApicOffsets.LvtError, ApicBits.LvtMasked, Added: true),
        ];
        Assert.Equal(expected, changed);
    }

    [Fact]
    public void ASoftwareEnabledApic_KeepsItsUnmaskedLvts()
    {
        var regs = new byte[LocalApic.KvmLapicStateSize];
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Svr), 0x0000_01FF);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.LvtLint0), 0x0000_0700);

        var state = LocalApic.StateFromKvmLapicState(0, regs, false, ApicConfig.DefaultHz, out var changed);
        using var apic = new LocalApic(new ApicConfig(0, 0, true, false));
        apic.Restore(state, 0, NullApicEffects.Instance);

        Assert.Equal(0x0000_0700u, apic.Snapshot(0).LvtLint0);
        Assert.Empty(changed);
    }

    [Fact]
    public void AnImportedX2ApicIcr_ReadAndWrittenBack_DoesNotFault()
    {
        // KVM may leave the delivery-status bit, or reserved bits, in the ICR it returns; an x2APIC guest that writes back
        // what it reads must not take a #GP for bits it never wrote.
        var regs = new byte[LocalApic.KvmLapicStateSize];
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Id), 3);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Svr), 0x1FF);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.IcrLow), 0x0010_10FD);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.IcrHigh), 3);
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.LvtLint0), 0x0001_1000);
        using var h = ApicHarness.X2Apic(3, bsp: false);
        h.Apic.Restore(LocalApic.StateFromKvmLapicState(h.Apic.Index, regs, x2Apic: true), 0, h.Fx);

        var icr = h.RdmsrOk(ApicMsrs.X2ApicIcr);
        Assert.Equal(0x0000_0003_0000_00FDUL, icr);
        Assert.Equal(AccessStatus.Ok, h.Wrmsr(ApicMsrs.X2ApicIcr, icr).Status);
        Assert.Equal(0x0001_0000UL, h.RdmsrOk(ApicHarness.Msr(ApicOffsets.LvtLint0)));
    }

    [Fact]
    public void RandomStructures_ImportAsRegistersAGuestCanWriteBack()
    {
        // Whatever the structure holds, every writable x2APIC register reads back a value a WRMSR takes without a #GP
        // (profile decisions 2 and 3), as it does on an APIC that was never imported.
        uint[] writable =
        [
            ApicOffsets.Tpr, ApicOffsets.Svr, ApicOffsets.LvtCmci, ApicOffsets.LvtTimer, ApicOffsets.LvtThermal,
            ApicOffsets.LvtPmc, ApicOffsets.LvtLint0, ApicOffsets.LvtLint1, ApicOffsets.LvtError, ApicOffsets.TimerDivide,
        ];
        var random = new Random(0x5eed);
        var regs = new byte[LocalApic.KvmLapicStateSize];
        for (var n = 0; n < 200; n++)
        {
            random.NextBytes(regs);
            var id = LocalApic.ApicIdOfKvmLapicState(regs, x2Apic: true);
            if (id == ApicId.X2ApicBroadcast)
            {
                continue;
            }
            using var h = ApicHarness.X2Apic(id, bsp: false);
            var state = LocalApic.StateFromKvmLapicState(h.Apic.Index, regs, x2Apic: true);
            h.Apic.Restore(state, 0, h.Fx);
            foreach (var offset in writable)
            {
                var msr = ApicHarness.Msr(offset);
                Assert.Equal(AccessStatus.Ok, h.Wrmsr(msr, h.RdmsrOk(msr)).Status);
            }
            Assert.Equal(AccessStatus.Ok, h.Wrmsr(ApicMsrs.X2ApicIcr, h.RdmsrOk(ApicMsrs.X2ApicIcr)).Status);
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
