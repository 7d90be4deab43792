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
    /// from the running timer, and in x2APIC mode the ID reported as <c>id &lt;&lt; 24</c> (KVM's default without
    /// 32-bit x2APIC IDs). The 64-bit x2APIC ICR is already split over 0x300 and 0x310.
    /// </summary>
    public byte[] ToKvmLapicState(long now)
    {
        var regs = _page.Bytes[..KvmLapicStateSize].ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.TimerCurrentCount), CurrentCount(now));
        if (_mode == ApicMode.X2Apic)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(regs.AsSpan((int)ApicOffsets.Id), _config.InitialApicId << (int)ApicBits.XApicIdShift);
        }
        return regs;
    }
}
