using CsCheck;
using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>
/// Random sequences of guest and device actions: the APIC never throws, never sets IRR/ISR bits 0–15,
/// keeps PPR equal to its formula, and EOI clears exactly the highest ISR bit.
/// </summary>
public sealed class ApicPropertyTests
{
    public enum OpKind
    {
        MmioWrite,
        MmioRead,
        MsrWrite,
        MsrRead,
        RegisterWrite,
        Accept,
        Inject,
        Ack,
        Eoi,
        EoiRegister,
        Lint,
        RaiseLocal,
        Advance,
        Expire,
        ApicBase,
    }

    /// <summary>One action; the meaning of A, B and C depends on the kind.</summary>
    public readonly record struct Op(OpKind Kind, uint A, ulong B, int C)
    {
        public override string ToString() => $"{Kind}(0x{A:X}, 0x{B:X}, {C})";
    }

    public readonly record struct Setup(uint Id, bool Bsp, bool X2Apic, long TimerHz, long TscHz, bool Enable)
    {
        public override string ToString() => $"id=0x{Id:X} bsp={Bsp} x2={X2Apic} timer={TimerHz} tsc={TscHz} enable={Enable}";
    }

    private static readonly uint[] RegisterOffsets =
    [
        ApicOffsets.Id, ApicOffsets.Version, ApicOffsets.Tpr, ApicOffsets.Apr, ApicOffsets.Ppr, ApicOffsets.Eoi, ApicOffsets.Rrd,
        ApicOffsets.Ldr, ApicOffsets.Dfr, ApicOffsets.Svr, ApicOffsets.Isr0, ApicOffsets.Tmr0 + 0x30, ApicOffsets.Irr0 + 0x70,
        ApicOffsets.Esr, ApicOffsets.LvtCmci, ApicOffsets.IcrLow, ApicOffsets.IcrHigh, ApicOffsets.LvtTimer, ApicOffsets.LvtThermal,
        ApicOffsets.LvtPmc, ApicOffsets.LvtLint0, ApicOffsets.LvtLint1, ApicOffsets.LvtError, ApicOffsets.TimerInitialCount,
        ApicOffsets.TimerCurrentCount, ApicOffsets.TimerDivide, ApicOffsets.SelfIpi,
    ];

    private static readonly ulong[] ApicBaseValues =
    [
        BspXApic, ApXApic, BspX2Apic, ApX2Apic, BspDisabled, ApDisabled, AlternateBase | ApicBaseEnable,
        AlternateBase | ApicBaseEnable | ApicBaseExtd, DefaultBase | ApicBaseExtd, BspXApic | 1,
    ];

    private static readonly Gen<uint> GenRegisterOffset = GenExtras.AnyOf<uint>(Gen.OneOf(RegisterOffsets), Gen.UInt[0, 0xFF].Select(i => i * ApicOffsets.Stride), Gen.UInt[0, 0xFFF]);

    private static readonly Gen<int> GenSize = Gen.Frequency((1, 1), (1, 2), (8, 4), (1, 8));

    private static readonly Gen<ulong> GenValue = GenExtras.AnyOf<ulong>(
        Gen.UInt.Select(v => (ulong)v),
        Gen.ULong,
        Gen.UInt[0, 0x1FF].Select(v => (ulong)v),
        Gen.OneOf(0ul, SvrEnabled, SvrEnabledSuppressEoi, 0xFFFF_FFFFul, TimerPeriodic | 0xEEul, TimerTscDeadline | 0xEFul, LvtLevel | 0x31ul, LvtNmi, LvtActiveLow | LvtLevel | 0x32ul, 0x0000_4041ul, 0x000C_4500ul, 0x0000_4005ul),
        Gen.Select(Gen.UInt[0, 0x7], Gen.UInt[0, 0x3], Gen.UInt[0, 0xF], Gen.Byte).Select((mode, shorthand, flags, vector) =>
            (ulong)((shorthand << 18) | (flags << 12) | (mode << 8) | vector)));

    private static readonly Gen<uint> GenMsr = GenExtras.Weighted<uint>(
        (8, Gen.UInt[ApicMsrs.X2ApicFirst, ApicMsrs.X2ApicFirst + 0x3F]),
        (1, Gen.UInt[ApicMsrs.X2ApicFirst, ApicMsrs.X2ApicLast]),
        (1, Gen.OneOf(ApicMsrs.ApicBase, ApicMsrs.TscDeadline)),
        (1, Gen.UInt));

    private static readonly Gen<Op> GenOp = GenExtras.Weighted<Op>(
        (6, Gen.Select(GenRegisterOffset, GenValue, GenSize).Select((o, v, s) => new Op(OpKind.MmioWrite, o, v, s))),
        (3, Gen.Select(GenRegisterOffset, GenSize).Select((o, s) => new Op(OpKind.MmioRead, o, 0, s))),
        (4, Gen.Select(GenMsr, GenValue).Select((m, v) => new Op(OpKind.MsrWrite, m, v, 0))),
        (2, GenMsr.Select(m => new Op(OpKind.MsrRead, m, 0, 0))),
        (8, Gen.Select(Gen.OneOf(RegisterOffsets), GenValue).Select((o, v) => new Op(OpKind.RegisterWrite, o, v, 0))),
        (3, Gen.Select(Gen.Enum<DeliveryMode>(), Gen.Byte, Gen.Enum<TriggerMode>(), Gen.Bool)
            .Select((m, v, t, a) => new Op(OpKind.Accept, (uint)m, v, ((int)t << 1) | (a ? 1 : 0)))),
        (10, Gen.Select(Gen.Int[0, 255], Gen.Enum<TriggerMode>()).Select((v, t) => new Op(OpKind.Inject, (uint)v, 0, (int)t))),
        (8, Gen.Const(new Op(OpKind.Ack, 0, 0, 0))),
        (8, Gen.Const(new Op(OpKind.Eoi, 0, 0, 0))),
        (2, Gen.UInt.Select(v => new Op(OpKind.EoiRegister, v, 0, 0))),
        (3, Gen.Select(Gen.Int[0, 1], Gen.Bool).Select((p, l) => new Op(OpKind.Lint, (uint)p, l ? 1ul : 0, 0))),
        (2, Gen.Enum<LvtSource>().Select(s => new Op(OpKind.RaiseLocal, (uint)s, 0, 0))),
        (3, Gen.Long[0, 5_000].Select(d => new Op(OpKind.Advance, 0, (ulong)d, 0))),
        (3, Gen.Const(new Op(OpKind.Expire, 0, 0, 0))),
        (1, Gen.Int[0, ApicBaseValues.Length - 1].Select(i => new Op(OpKind.ApicBase, 0, ApicBaseValues[i], 0))));

    private static readonly Gen<Setup> GenSetup = Gen.Select(
            Gen.UInt[0, 0xFE], Gen.Bool, Gen.Bool,
            Gen.OneOf(1_000_000_000L, 3_000_000_000L, 25_000_000L, 14_318_180L),
            Gen.OneOf(1_000_000_000L, 2_999_999_999L, 1_000_000L),
            Gen.Frequency((9, true), (1, false)))
        .Select((id, bsp, x2, timer, tsc, enable) => new Setup(id, bsp, x2, timer, tsc, enable));

    private static ApicHarness Build(Setup setup)
    {
        var h = ApicHarness.PowerOn(setup.Id, setup.Bsp, setup.X2Apic, timerHz: setup.TimerHz, tscHz: setup.TscHz);
        if (setup.Enable) h.SetReg(ApicOffsets.Svr, SvrEnabled);
        return h;
    }

    /// <summary>Runs one action; returns a description of an invariant it broke, or null.</summary>
    private static string? Apply(ApicHarness h, Op op)
    {
        var apic = h.Apic;
        var isrBefore = apic.Isr;
        var pendingBefore = apic.PendingVector;
        var running = apic.RunState == VcpuRunState.Running;
        var expectEoi = false;
        switch (op.Kind)
        {
            case OpKind.MmioWrite:
                apic.WriteMmio(h.PageBase + op.A, op.C, op.B, h.Now, h.Fx);
                expectEoi = op.A == ApicOffsets.Eoi && op.C == 4 && apic.Mode == ApicMode.XApic;
                break;
            case OpKind.MmioRead:
                apic.ReadMmio(h.PageBase + op.A, op.C, h.Now, h.Fx);
                break;
            case OpKind.MsrWrite:
                var modeBefore = apic.Mode;
                var written = apic.WriteMsr(op.A, op.B, h.Now, h.Fx);
                expectEoi = op.A == ApicMsrs.X2ApicEoi && modeBefore == ApicMode.X2Apic && op.B == 0;
                if (op.A == ApicMsrs.X2ApicEoi && op.B != 0 && modeBefore == ApicMode.X2Apic && running && written.Status != AccessStatus.GeneralProtection)
                {
                    return $"non-zero EOI WRMSR gave {written}";
                }
                break;
            case OpKind.MsrRead:
                apic.ReadMsr(op.A, h.Now, h.Fx);
                break;
            case OpKind.RegisterWrite:
                if (apic.Mode == ApicMode.X2Apic)
                {
                    if (op.A is not ApicOffsets.IcrHigh) apic.WriteMsr(ApicOffsets.ToMsr(op.A), op.B, h.Now, h.Fx);
                    expectEoi = op.A == ApicOffsets.Eoi && op.B == 0;
                }
                else
                {
                    apic.WriteMmio(h.PageBase + op.A, 4, op.B, h.Now, h.Fx);
                    expectEoi = op.A == ApicOffsets.Eoi && apic.Mode == ApicMode.XApic;
                }
                break;
            case OpKind.Accept:
                apic.Accept(new InterruptMessage((DeliveryMode)op.A, (byte)op.B, (TriggerMode)(op.C >> 1), (op.C & 1) != 0), h.Now, h.Fx);
                break;
            case OpKind.Inject:
                h.Inject((int)op.A, (TriggerMode)op.C);
                break;
            case OpKind.Ack:
                var ack = apic.Acknowledge(h.Now, h.Fx);
                if (ack.IsOk && ((int)ack.Value != pendingBefore || !apic.Isr.Contains((int)ack.Value)))
                {
                    return $"acknowledge gave {ack} with pending 0x{pendingBefore:X}";
                }
                if (ack.Status == AccessStatus.None && running && pendingBefore >= 0)
                {
                    return $"acknowledge took nothing with 0x{pendingBefore:X} pending";
                }
                break;
            case OpKind.Eoi:
                apic.Eoi(h.Now, h.Fx);
                expectEoi = apic.Mode != ApicMode.Disabled;
                break;
            case OpKind.EoiRegister:
                if (apic.Mode == ApicMode.XApic)
                {
                    apic.WriteMmio(h.PageBase + ApicOffsets.Eoi, 4, op.A, h.Now, h.Fx);
                    expectEoi = true;
                }
                break;
            case OpKind.Lint:
                apic.SetLint((int)op.A, op.B != 0, h.Now, h.Fx);
                break;
            case OpKind.RaiseLocal:
                apic.RaiseLocal((LvtSource)op.A, h.Now, h.Fx);
                break;
            case OpKind.Advance:
                h.Now += (long)op.B;
                break;
            case OpKind.Expire:
                if (apic.TimerDue is long due)
                {
                    h.Now = Math.Max(h.Now, due);
                    if (!apic.ExpireTimer(h.Now, h.Fx)) return "a due timer did not expire";
                }
                break;
            case OpKind.ApicBase:
                apic.WriteMsr(ApicMsrs.ApicBase, op.B, h.Now, h.Fx);
                break;
        }

        if ((apic.Irr.W0 & 0xFFFF) != 0) return $"IRR holds a vector below 16: {apic.Irr}";
        if ((apic.Isr.W0 & 0xFFFF) != 0) return $"ISR holds a vector below 16: {apic.Isr}";
        if ((apic.Tmr.W0 & 0xFFFF) != 0) return $"TMR holds a vector below 16: {apic.Tmr}";
        if (apic.HighestIsr != apic.Isr.Highest) return $"HighestIsr {apic.HighestIsr}, the ISR's highest is {apic.Isr.Highest} (ISR {apic.Isr})";
        var ppr = ExpectedPpr(apic.Tpr, apic.Isr.Highest);
        if (apic.Ppr != ppr) return $"PPR 0x{apic.Ppr:X2}, formula gives 0x{ppr:X2} (TPR 0x{apic.Tpr:X2}, ISR {apic.Isr})";
        if (expectEoi && running && !isrBefore.IsEmpty)
        {
            var expected = VectorSet.Of([.. isrBefore.Vectors().Where(v => v != isrBefore.Highest)]);
            if (apic.Isr != expected) return $"EOI turned ISR {isrBefore} into {apic.Isr}";
        }
        if (apic.TimerDue is long armed && armed < 0) return $"timer armed in the past: {armed}";
        return null;
    }

    [Fact]
    public void RandomActionSequences_KeepTheInvariants()
    {
        Gen.Select(GenSetup, GenOp.Array[1, 120]).Sample((setup, ops) =>
        {
            using var h = Build(setup);
            for (var i = 0; i < ops.Length; i++)
            {
                var broken = Apply(h, ops[i]);
                if (broken is not null)
                {
                    throw new Xunit.Sdk.XunitException($"step {i} {ops[i]}: {broken}");
                }
                h.Apic.Snapshot(h.Now);
            }
        }, iter: 3_000);
    }

    [Fact]
    public void RandomX2ApicSequences_KeepTheInvariants()
    {
        var setups = GenSetup.Select(s => s with { X2Apic = true, Enable = true });
        Gen.Select(setups, GenOp.Where(op => op.Kind != OpKind.ApicBase && !(op.Kind == OpKind.MsrWrite && op.A == ApicMsrs.ApicBase)).Array[1, 120]).Sample((setup, ops) =>
        {
            using var h = Build(setup);
            for (var i = 0; i < ops.Length; i++)
            {
                var broken = Apply(h, ops[i]);
                if (broken is not null)
                {
                    throw new Xunit.Sdk.XunitException($"step {i} {ops[i]}: {broken}");
                }
            }
            Assert.Equal(ApicMode.X2Apic, h.Apic.Mode);
        }, iter: 2_000);
    }

    [Fact]
    public void RandomNesting_EoiAlwaysClearsExactlyTheHighestIsrBit()
    {
        var genStep = GenExtras.Weighted<Op>(
            (4, Gen.Select(Gen.Int[FirstLegalVector, 255], Gen.Enum<TriggerMode>()).Select((v, t) => new Op(OpKind.Inject, (uint)v, 0, (int)t))),
            (3, Gen.Const(new Op(OpKind.Ack, 0, 0, 0))),
            (2, Gen.Const(new Op(OpKind.Eoi, 0, 0, 0))),
            (1, Gen.UInt[0, 0xFF].Select(t => new Op(OpKind.RegisterWrite, ApicOffsets.Tpr, t, 0))));
        Gen.Select(Gen.Bool, genStep.Array[1, 200]).Sample((x2, ops) =>
        {
            using var h = x2 ? ApicHarness.X2Apic() : ApicHarness.XApic();
            var eois = 0;
            for (var i = 0; i < ops.Length; i++)
            {
                var broken = Apply(h, ops[i]);
                if (broken is not null)
                {
                    throw new Xunit.Sdk.XunitException($"step {i} {ops[i]}: {broken}");
                }
                if (ops[i].Kind == OpKind.Eoi) eois++;
            }
            while (!h.Apic.Isr.IsEmpty)
            {
                var highest = h.Apic.Isr.Highest;
                h.Eoi();
                Assert.False(h.Apic.Isr.Contains(highest));
            }
        }, iter: 2_000);
    }

    [Fact]
    public void SaveAndRestore_AtAnotherTime_ContinuesIdentically()
    {
        // A TSC deadline is an absolute TSC value, so deadlines written after a restore at another time differ by design.
        var genAfter = GenOp.Where(op => !(op.Kind == OpKind.MsrWrite && op.A == ApicMsrs.TscDeadline)).Array[0, 40];
        Gen.Select(GenSetup, GenOp.Array[0, 80], genAfter, Gen.Long[0, 1_000_000_000]).Sample((setup, before, after, shift) =>
        {
            using var original = Build(setup);
            foreach (var op in before) Apply(original, op);
            var state = original.Apic.Save(original.Now);

            using var copy = ApicHarness.PowerOn(setup.Id, setup.Bsp, setup.X2Apic, timerHz: setup.TimerHz, tscHz: setup.TscHz);
            copy.Now = original.Now + shift;
            copy.Apic.Restore(state, copy.Now, copy.Fx);

            for (var i = 0; i <= after.Length; i++)
            {
                var expected = original.Apic.Snapshot(original.Now);
                var actual = copy.Apic.Snapshot(copy.Now);
                // An expiry armed at the last representable ns stays there.
                var due = expected.TimerDueNs is long d ? (d > long.MaxValue - shift ? null : d + shift) : (long?)null;
                Assert.Equal(expected with { TimerDueNs = due }, actual);
                Assert.True(original.Apic.Page.Bytes.SequenceEqual(copy.Apic.Page.Bytes), $"pages differ after {i} steps");
                if (i == after.Length) break;
                Apply(original, after[i]);
                Apply(copy, after[i]);
            }
        }, iter: 1_500);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Restore_TakesTheIdAndX2ApicLdrFromTheInitialIdAndMode_NotFromThePage(bool x2Apic)
    {
        // IA32_APIC_BASE selects the mode before the page is applied, as KVM_SET_MSRS comes before KVM_SET_LAPIC, and the
        // ID (and the x2APIC LDR) of that mode are read-only: a page that says otherwise (an xAPIC page under an x2APIC
        // IA32_APIC_BASE) must not make RDMSR 0x802 read 0x03000000.
        using var source = ApicHarness.XApic(3, bsp: false);
        var state = source.Apic.Save(0);
        var page = state.Page.ToArray();
        BitConverter.GetBytes(0x0700_0000u).CopyTo(page, (int)ApicOffsets.Id);
        state = state with
        {
            Page = [.. page],
            ApicBase = x2Apic ? ApicBits.BaseDefaultAddress | ApicBits.BaseEnable | ApicBits.BaseExtd : state.ApicBase,
        };

        using var h = ApicHarness.XApic(3, bsp: false);
        h.Apic.Restore(state, 0, h.Fx);

        Assert.Equal(x2Apic ? 3u : 0x0300_0000u, h.Reg(ApicOffsets.Id));
        if (x2Apic)
        {
            Assert.Equal(0x8u, h.Reg(ApicOffsets.Ldr));
        }
    }
}
