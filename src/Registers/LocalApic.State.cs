using System.Buffers.Binary;
using System.Collections.Immutable;

namespace VApicActors.Registers;

/// <summary>Save and restore of the whole APIC, and export in the layout of KVM's <c>KVM_GET_LAPIC</c>.</summary>
public sealed partial class LocalApic
{
    /// <summary>Size of <c>struct kvm_lapic_state</c>: the first 1 KiB of the register page.</summary>
    public const int KvmLapicStateSize = 0x400;

    /// <summary>The complete state at virtual time <paramref name="now"/>.</summary>
    public ApicState Save(long now) => new(
        Index,
        _config.InitialApicId,
        ImmutableArray.Create(_page.Bytes.ToArray()),
        _apicBase,
        _runState,
        _esrPending,
        _lint0Level,
        _lint1Level,
        _tscDeadline,
        _timerRunning,
        _timerRunning ? now - _timerStartNs : 0,
        _timerFirstTicks,
        _timerPeriodTicks,
        _timerExpiries,
        _timerDueNs == NotArmed ? NotArmed : _timerDueNs - now,
        _nmiCount,
        _smiCount,
        _sipiVector);

    /// <summary>
    /// Replaces this APIC's whole state with a saved one, at virtual time <paramref name="now"/>. Reports the
    /// new routing identity and timer to <paramref name="effects"/>. Throws for a state of another APIC or a
    /// malformed page (a caller error, not guest input).
    /// </summary>
    public void Restore(ApicState state, long now, IApicEffects effects)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.InitialApicId != _config.InitialApicId || state.Index != Index)
        {
            throw new ArgumentException(
                $"state of vCPU {state.Index} (APIC ID 0x{state.InitialApicId:X}) cannot restore vCPU {Index} (APIC ID 0x{_config.InitialApicId:X})",
                nameof(state));
        }
        if (state.Page.Length != ApicOffsets.PageSize)
        {
            throw new ArgumentException($"a page is {ApicOffsets.PageSize} bytes, not {state.Page.Length}", nameof(state));
        }
        if (ApicBaseError(state.ApicBase) is { } why)
        {
            throw new ArgumentException($"IA32_APIC_BASE 0x{state.ApicBase:X} is not a valid state: {why}", nameof(state));
        }
        var enable = (state.ApicBase & ApicBits.BaseEnable) != 0;
        var extd = (state.ApicBase & ApicBits.BaseExtd) != 0;
        state.Page.AsSpan().CopyTo(_page.WritableBytes);
        _apicBase = state.ApicBase;
        _mode = !enable ? ApicMode.Disabled : extd ? ApicMode.X2Apic : ApicMode.XApic;
        // The ID, and in x2APIC mode the LDR, are read-only and follow from the initial ID and the mode IA32_APIC_BASE
        // selects (applied before the page, as KVM_SET_LAPIC does): a page of another mode does not change them.
        WriteIdForMode();
        _runState = state.RunState;
        _svrLast = _page[ApicOffsets.Svr];
        for (var i = 0; i < LvtCount; i++)
        {
            _lvtLast[i] = _page[LvtOffset((LvtSource)i)];
        }
        _esrPending = state.EsrPending;
        _firingError = false;
        _lint0Level = state.Lint0;
        _lint1Level = state.Lint1;
        _tscDeadline = state.TscDeadline;
        _timerRunning = state.TimerRunning;
        _timerStartNs = now - state.TimerElapsedNs;
        _timerFirstTicks = state.TimerFirstTicks;
        _timerPeriodTicks = state.TimerPeriodTicks;
        _timerExpiries = state.TimerExpiries;
        _timerDivisor = DivisorOf(_page[ApicOffsets.TimerDivide]);
        _nmiCount = state.NmiCount;
        _smiCount = state.SmiCount;
        _sipiVector = state.SipiVector;
        _lastSignalled = -1;
        RecomputeHighestVectors();
        UpdatePpr();
        if (state.TimerDueInNs == NotArmed)
        {
            _timerDueNs = NotArmed;
            effects.CancelTimer();
        }
        else
        {
            // An expiry the restore time moves past the last representable ns is never reached, so it is not armed
            // (as when it is first computed); adding the restore time must not wrap it into the past.
            Arm(state.TimerDueInNs > long.MaxValue - now ? NotArmed : now + state.TimerDueInNs, effects);
        }
        effects.RoutingChanged(Identity);
        CheckDeliverable(effects);
    }

    /// <summary>
    /// Why <paramref name="apicBase"/> cannot be a saved IA32_APIC_BASE (reserved bits set, or EXTD without EN:
    /// values WRMSR refuses too), or null when it can. <see cref="Restore"/> throws for such a value; readers of
    /// saved states check it up front with this.
    /// </summary>
    public static string? ApicBaseError(ulong apicBase)
    {
        if ((apicBase & ApicBits.BaseReserved) != 0)
        {
            return $"reserved bits 0x{apicBase & ApicBits.BaseReserved:X} are set";
        }
        if ((apicBase & ApicBits.BaseExtd) != 0 && (apicBase & ApicBits.BaseEnable) == 0)
        {
            return "EXTD (bit 10, x2APIC mode) is set without EN (bit 11)";
        }
        return null;
    }

    /// <summary>
    /// The register state as <c>KVM_GET_LAPIC</c> returns it: the first 1 KiB of the page, TMCCT synthesised
    /// from the running timer, and in x2APIC mode the ID register holding the whole 32-bit x2APIC ID and the LDR
    /// derived from it (KVM with <c>KVM_X2APIC_API_USE_32BIT_IDS</c>; KVM's older <c>id &lt;&lt; 24</c> cannot hold an ID
    /// above 0xFF). The 64-bit x2APIC ICR is already split over 0x300 and 0x310.
    /// </summary>
    public byte[] ToKvmLapicState(long now)
    {
        var regs = _page.Bytes[..KvmLapicStateSize].ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.TimerCurrentCount), CurrentCount(now));
        if (_mode == ApicMode.X2Apic)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Id), _config.InitialApicId);
            BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Ldr), DestinationMatcher.X2ApicLdr(_config.InitialApicId));
        }
        return regs;
    }

    /// <summary>
    /// The APIC ID a <c>struct kvm_lapic_state</c> (<paramref name="regs"/>) holds: in xAPIC mode KVM's <c>id &lt;&lt; 24</c>;
    /// in x2APIC mode the whole 32-bit ID (<c>KVM_X2APIC_API_USE_32BIT_IDS</c>), or KVM's older <c>id &lt;&lt; 24</c>. The two
    /// differ only for a word whose low 24 bits are all zero; then the LDR, which KVM derives from the ID in x2APIC
    /// mode, tells which it is (the 32-bit ID when the LDR is that of the word, <c>word &gt;&gt; 24</c> otherwise). It may be one no APIC
    /// can have (above 0xFE in xAPIC mode, the x2APIC broadcast ID): the caller checks.
    /// </summary>
    public static uint ApicIdOfKvmLapicState(ReadOnlySpan<byte> regs, bool x2Apic)
    {
        var idWord = BinaryPrimitives.ReadUInt32LittleEndian(regs[(int)ApicOffsets.Id..]);
        var shifted = idWord >> (int)ApicBits.XApicIdShift;
        if (!x2Apic || idWord == 0)
        {
            return shifted;
        }
        if ((idWord & 0x00FF_FFFF) != 0)
        {
            return idWord;
        }
        var ldr = BinaryPrimitives.ReadUInt32LittleEndian(regs[(int)ApicOffsets.Ldr..]);
        return ldr == DestinationMatcher.X2ApicLdr(idWord) ? idWord : shifted;
    }

    /// <summary>
    /// The state of an APIC rebuilt from what <c>KVM_GET_LAPIC</c> returned for it (<paramref name="regs"/>, the 1 KiB of
    /// <c>struct kvm_lapic_state</c>), at virtual time 0: the inverse of <see cref="ToKvmLapicState"/>. The registers are
    /// taken as KVM gave them less the bits no APIC of this model can hold (read-only, reserved and illegal-vector bits,
    /// which its own writes and deliveries never set: LVT delivery status, reserved ICR bits, IRR/ISR/TMR vectors 0–15
    /// and the like; DFR bits 27:0 read as ones), and except what this model owns: the version register (LVR) is the model's, PPR follows
    /// from TPR and ISR, and TMCCT is not kept in the page — a counting timer (TMICT non-zero, and periodic, or one-shot
    /// with TMCCT non-zero) goes on from TMCCT at the divide value of TDCR, as after a TDCR write, and reloads TMICT if
    /// periodic; a TMCCT of 0 (periodic) or above TMICT counts a whole period, as KVM_SET_LAPIC has it.
    /// The ID is read as <see cref="ApicIdOfKvmLapicState"/> says, and in x2APIC mode the LDR is the one of that ID (as
    /// KVM_SET_LAPIC sets it). What the structure does not hold is as at power-on: IA32_APIC_BASE at 0xFEE00000,
    /// enabled, BSP for index 0, x2APIC per <paramref name="x2Apic"/>; running; TSC deadline 0; LINT pins low; no NMI,
    /// SMI or SIPI latched; no error pending beyond what ESR reads.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="regs"/> is not <see cref="KvmLapicStateSize"/> bytes.</exception>
    public static ApicState StateFromKvmLapicState(int index, ReadOnlySpan<byte> regs, bool x2Apic, long timerHz = ApicConfig.DefaultHz) =>
        StateFromKvmLapicState(index, regs, x2Apic, timerHz, out _);

    /// <summary>
    /// As <see cref="StateFromKvmLapicState(int, ReadOnlySpan{byte}, bool, long)"/>, and says in
    /// <paramref name="dropped"/> which bits of the structure's registers were left out because no APIC of this model can
    /// hold them (see <see cref="KvmLapicDroppedBits"/>), register by register in offset order, then which LVT masks were
    /// set because the APIC is software-disabled (SVR bit 8 clear: every LVT masked, SDM 10.4.7.2), in offset order;
    /// empty when neither happened.
    /// </summary>
    public static ApicState StateFromKvmLapicState(
        int index, ReadOnlySpan<byte> regs, bool x2Apic, long timerHz, out IReadOnlyList<KvmLapicDroppedBits> dropped)
    {
        if (regs.Length != KvmLapicStateSize)
        {
            throw new ArgumentException($"struct kvm_lapic_state is {KvmLapicStateSize} bytes, not {regs.Length}", nameof(regs));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(timerHz);
        var id = ApicIdOfKvmLapicState(regs, x2Apic);

        // The power-on page of this APIC supplies what the model owns; the rest of the first 1 KiB is KVM's.
        using var fresh = new LocalApic(new ApicConfig(index, id, index == 0, x2Apic, TimerHz: timerHz));
        var page = fresh._page.Bytes.ToArray();
        var version = fresh._page[ApicOffsets.Version];
        regs.CopyTo(page);
        var words = page.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(words[(int)ApicOffsets.Version..], version);
        BinaryPrimitives.WriteUInt32LittleEndian(words[(int)ApicOffsets.Id..], x2Apic ? id : (id & 0xFF) << (int)ApicBits.XApicIdShift);
        if (x2Apic)
        {
            // The x2APIC LDR is fixed by the ID: KVM_SET_LAPIC computes it whatever the structure holds.
            BinaryPrimitives.WriteUInt32LittleEndian(words[(int)ApicOffsets.Ldr..], DestinationMatcher.X2ApicLdr(id));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(words[(int)ApicOffsets.TimerCurrentCount..], 0);
        dropped = KeepWhatTheModelHolds(words, x2Apic);

        var lvtt = BinaryPrimitives.ReadUInt32LittleEndian(regs[(int)ApicOffsets.LvtTimer..]);
        var mode = (lvtt >> ApicBits.TimerModeShift) & ApicBits.TimerModeMask;
        var initial = BinaryPrimitives.ReadUInt32LittleEndian(regs[(int)ApicOffsets.TimerInitialCount..]);
        var current = BinaryPrimitives.ReadUInt32LittleEndian(regs[(int)ApicOffsets.TimerCurrentCount..]);
        var divisor = DivisorOf(BinaryPrimitives.ReadUInt32LittleEndian(regs[(int)ApicOffsets.TimerDivide..]));
        // A periodic timer runs whatever TMCCT says (KVM_GET_LAPIC rounds it down, to 0 within a count of the expiry); a
        // one-shot one runs while TMCCT is not 0. A TMCCT of 0 (periodic) or above TMICT goes on a whole period later,
        // as KVM_SET_LAPIC starts it.
        var counting = initial != 0 && (mode == ApicBits.TimerModePeriodic || (mode == ApicBits.TimerModeOneShot && current != 0));
        var count = current == 0 || current > initial ? initial : current;
        var firstTicks = counting ? (ulong)count * divisor : 0;
        var due = ((UInt128)firstTicks * NanosecondsPerSecond + (ulong)timerHz - 1) / (ulong)timerHz;
        // (An expiry past the last ns virtual time can reach never comes: not armed, as when a TMICT write computes it.)
        var dueInNs = counting && due <= long.MaxValue ? (long)due : NotArmed;

        var apicBase = ApicBits.BaseDefaultAddress | ApicBits.BaseEnable | (index == 0 ? ApicBits.BaseBsp : 0) | (x2Apic ? ApicBits.BaseExtd : 0);
        return new ApicState(
            index, id, ImmutableArray.Create(page), apicBase, VcpuRunState.Running, EsrPending: 0, Lint0: false, Lint1: false,
            TscDeadline: 0, TimerRunning: counting, TimerElapsedNs: 0, TimerFirstTicks: firstTicks,
            TimerPeriodTicks: counting ? (ulong)initial * divisor : 0, TimerExpiries: 0, TimerDueInNs: dueInNs,
            NmiCount: 0, SmiCount: 0, SipiVector: -1);
    }

    /// <summary>
    /// Clears, in a page built from a <c>struct kvm_lapic_state</c>, the register bits no APIC of this model can hold —
    /// the bits its own writes and deliveries never set (read-only, reserved and illegal-vector bits) — and returns what
    /// was cleared. DFR's bits 27:0, which always read as ones, are set as a DFR write sets them.
    /// </summary>
    private static List<KvmLapicDroppedBits> KeepWhatTheModelHolds(Span<byte> words, bool x2Apic)
    {
        var dropped = new List<KvmLapicDroppedBits>();
        void Keep(Span<byte> page, uint offset, uint holdable)
        {
            var value = BinaryPrimitives.ReadUInt32LittleEndian(page[(int)offset..]);
            if ((value & ~holdable) != 0)
            {
                dropped.Add(new KvmLapicDroppedBits(offset, value & ~holdable));
                BinaryPrimitives.WriteUInt32LittleEndian(page[(int)offset..], value & holdable);
            }
        }

        Keep(words, ApicOffsets.Tpr, ApicBits.TprMask);
        if (!x2Apic)
        {
            // (The x2APIC LDR is the one of the ID, set above.)
            Keep(words, ApicOffsets.Ldr, ApicBits.XApicLdrMask);
        }
        var dfr = BinaryPrimitives.ReadUInt32LittleEndian(words[(int)ApicOffsets.Dfr..]);
        BinaryPrimitives.WriteUInt32LittleEndian(words[(int)ApicOffsets.Dfr..], dfr | ApicBits.DfrAlwaysOnes);
        Keep(words, ApicOffsets.Svr, ApicBits.SvrWritable);
        // Vectors 0-15, illegal as interrupt vectors, are never requested, in service or level-triggered: bits 15:0 of
        // the first word of ISR, TMR and IRR.
        const uint legalVectors = ~((1u << ApicBits.FirstLegalVector) - 1);
        Keep(words, ApicOffsets.Isr0, legalVectors);
        Keep(words, ApicOffsets.Tmr0, legalVectors);
        Keep(words, ApicOffsets.Irr0, legalVectors);
        Keep(words, ApicOffsets.Esr, ApicBits.EsrRecorded);
        Keep(words, ApicOffsets.LvtCmci, WritableLvtBits(ApicOffsets.LvtCmci));
        // The ICR keeps what a write keeps (the same bits in both modes: those an x2APIC write may set, without the
        // delivery status, which reads 0 once the IPI is handed on); its destination is 8 bits in xAPIC mode, 32 in x2APIC.
        Keep(words, ApicOffsets.IcrLow, Icr.Writable);
        Keep(words, ApicOffsets.IcrHigh, x2Apic ? uint.MaxValue : Icr.XApicDestinationMask);
        foreach (var offset in (ReadOnlySpan<uint>)[ApicOffsets.LvtTimer, ApicOffsets.LvtThermal, ApicOffsets.LvtPmc, ApicOffsets.LvtLint0, ApicOffsets.LvtLint1, ApicOffsets.LvtError])
        {
            // Remote IRR is the LINT pins' alone, and is held only while the entry is level-triggered (as an LVT write keeps it).
            var lvt = BinaryPrimitives.ReadUInt32LittleEndian(words[(int)offset..]);
            var remoteIrr = offset is ApicOffsets.LvtLint0 or ApicOffsets.LvtLint1 && (lvt & ApicBits.LvtLevelTriggered) != 0
                ? ApicBits.LvtRemoteIrr
                : 0;
            Keep(words, offset, WritableLvtBits(offset) | remoteIrr);
        }
        Keep(words, ApicOffsets.TimerDivide, ApicBits.DcrWritable);
        dropped.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        var svr = BinaryPrimitives.ReadUInt32LittleEndian(words[(int)ApicOffsets.Svr..]);
        if ((svr & ApicBits.SvrEnable) == 0)
        {
            // Software-disabled (SDM 10.4.7.2): every LVT is masked, and stays masked while SVR bit 8 is clear (a write
            // cannot unmask one). A structure with one unmasked is a state no APIC of this model reaches.
            foreach (var offset in (ReadOnlySpan<uint>)[ApicOffsets.LvtCmci, ApicOffsets.LvtTimer, ApicOffsets.LvtThermal, ApicOffsets.LvtPmc, ApicOffsets.LvtLint0, ApicOffsets.LvtLint1, ApicOffsets.LvtError])
            {
                var lvt = BinaryPrimitives.ReadUInt32LittleEndian(words[(int)offset..]);
                if ((lvt & ApicBits.LvtMasked) == 0)
                {
                    dropped.Add(new KvmLapicDroppedBits(offset, ApicBits.LvtMasked, Added: true));
                    BinaryPrimitives.WriteUInt32LittleEndian(words[(int)offset..], lvt | ApicBits.LvtMasked);
                }
            }
        }
        return dropped;
    }
}

/// <summary>
/// Bits of one register of a <c>struct kvm_lapic_state</c> that an import left out because no APIC of this model can hold
/// them. <see cref="Offset"/> is the register's (xAPIC MMIO offset); for the first word of ISR, TMR or IRR, whose bit
/// <c>n</c> is vector <c>n</c>, <see cref="Bits"/> are the illegal vectors (0–15) that were set. With <see cref="Added"/>
/// the bits were set instead, because no APIC of this model holds the register without them: the mask bit of an LVT
/// that the structure left unmasked while SVR bit 8 (software enable) is clear.
/// </summary>
public readonly record struct KvmLapicDroppedBits(uint Offset, uint Bits, bool Added = false)
{
    /// <summary>True for ISR, TMR and IRR, whose bits are vectors.</summary>
    public bool IsVectorSet => Offset is ApicOffsets.Isr0 or ApicOffsets.Tmr0 or ApicOffsets.Irr0;
}
