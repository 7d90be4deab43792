using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// What <c>trace view</c> adds to a guest's register access that did not do what it seems to: why an ICR or SELF IPI
/// write sent nothing (profile decisions 7, 8 and 10, and the reserved delivery modes), and why an RDMSR or WRMSR
/// recorded <c>result=#GP</c>, by the rules of the reference profile: the MSR is not an APIC
/// MSR, the APIC is not in x2APIC mode, the register is read-only, write-only or absent in x2APIC mode, or the value
/// sets reserved bits (decisions 2, 3 and 12); and why an acknowledge found nothing to take. It follows each APIC's
/// mode through <c>ApicCreated</c> and <c>ModeChanged</c>, and its IRR, ISR, TPR and software enable through the
/// events that change them; pass it every event of the trace, in order.
/// </summary>
internal sealed class AccessNotes
{
    private const ulong BaseExtd = TrackedVcpu.BaseExtd;
    private const ulong BaseEnable = TrackedVcpu.BaseEnable;
    private const ulong BaseReserved = ~(TrackedVcpu.BaseAddressMask | BaseEnable | BaseExtd | TrackedVcpu.BaseBsp);

    private readonly TracedModes _modes = new();
    private readonly Dictionary<(string Vm, uint ApicId), Interrupts> _interrupts = new();
    private readonly TracedEois _eois = new();

    /// <summary>
    /// The note for the event (<c>#GP: TPR bits 31:8 are reserved (0x100)</c>, <c>sends nothing: ...</c>), or null
    /// when it needs none.
    /// </summary>
    public string? Explain(TraceRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var acknowledge = FollowInterrupts(e);
        if (_modes.Note(e))
        {
            return null;
        }
        switch (e.Event)
        {
            case "MmioWrite" when e.Register == "ICR" && e.Value is ulong icr && TraceDetail.Get(e.Detail, "size") == "4"
                && TraceDetail.Get(e.Detail, "result")?.StartsWith("0x", StringComparison.Ordinal) == true
                && _modes.Of(e.Vm, e.ApicId) == ApicMode.XApic:
                return WhyNothingSent((uint)icr);
            case "MsrWrite" when e.Value is ulong written && TraceDetail.Get(e.Detail, "result")?.StartsWith("0x", StringComparison.Ordinal) == true
                && TraceDetail.Number(e.Detail, "msr") is ApicMsrs.X2ApicIcr or ApicMsrs.X2ApicSelfIpi:
                return TraceDetail.Number(e.Detail, "msr") == ApicMsrs.X2ApicSelfIpi
                    ? (written & 0xFF) < 16 ? "sends nothing: vector " + Hex.Of(written & 0xFF) + " is illegal (0-15); the APIC records ESR 0x20 (send illegal vector)" : null
                    : WhyNothingSent((uint)written);
            case "MsrRead" or "MsrWrite" when TraceDetail.Get(e.Detail, "result") == "#GP" && TraceDetail.Number(e.Detail, "msr") is ulong msr:
                var current = _modes.Find(e.Vm, e.ApicId);
                var name = e.Register ?? "MSR " + Hex.Of(msr);
                var why = e.Event == "MsrRead" ? WhyRead((uint)msr, name, current) : WhyWrite((uint)msr, name, e.Value, current);
                return why is null ? null : "#GP: " + why;
            default:
                return acknowledge;
        }
    }

    /// <summary>
    /// Follows the APIC's interrupts through the event; for an acknowledge that found nothing (<c>Acknowledged</c>
    /// <c>none</c>), returns why, when the trace shows the APIC from its <c>ApicCreated</c> and no restore since.
    /// </summary>
    private string? FollowInterrupts(TraceRecord e)
    {
        var key = (e.Vm, e.ApicId);
        if (e.Event == "ApicCreated")
        {
            _interrupts[key] = new Interrupts();
        }
        var isEoi = _eois.IsEoi(e);
        if (!_interrupts.TryGetValue(key, out var apic))
        {
            return null;
        }
        if (isEoi)
        {
            if (apic.Isr.Count > 0)
            {
                apic.Isr.Remove(apic.Isr.Max);
            }
            return null;
        }
        switch (e.Event)
        {
            case "Acknowledged" when e.Vector is int taken:
                apic.Irr.Remove(taken);
                apic.Isr.Add(taken);
                return null;
            case "Acknowledged" when e.Detail == "none":
                return WhyNothingAcknowledged(apic, _modes.Of(key.Vm, key.ApicId));
            case "ModeChanged" when TraceDetail.Get(e.Detail, "mode") == nameof(ApicMode.Disabled):
                apic.PowerOn();
                return null;
            case "ModeChanged":
                apic.SoftwareEnabled = TraceDetail.Get(e.Detail, "enabled") switch { "True" => true, "False" => false, _ => apic.SoftwareEnabled };
                return null;
            case "MmioWrite" or "MsrWrite" when TracedPriority.TprWritten(e, _modes.Of(key.Vm, key.ApicId)) is uint tpr:
                apic.Tpr = tpr;
                return null;
            case TraceReplayer.RestoredEvent:
                // The restored IRR, ISR and TPR are in the state file, not in the trace.
                _interrupts.Remove(key);
                return null;
            case var _ when IpiSendIndex.IsMessageDelivery(e) && FirstWord(e.Detail) == nameof(AcceptOutcome.InitReset):
                apic.PowerOn();
                return null;
            case var _ when IpiSendIndex.IsMessageDelivery(e) && e.Vector is int vector
                && FirstWord(e.Detail) is nameof(AcceptOutcome.Accepted) or nameof(AcceptOutcome.Coalesced):
                apic.Irr.Add(vector);
                return null;
            case var _ when e.Register is not null && e.Vector is int local
                && FirstWord(e.Detail) is nameof(AcceptOutcome.Accepted) or nameof(AcceptOutcome.Coalesced):
                // One of the APIC's own LVTs set an IRR bit.
                apic.Irr.Add(local);
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// Why the core found nothing to take, by the rule it follows: the highest IRR vector, and only when its priority
    /// class is above PPR's. Null when the APIC as followed would have had something to take.
    /// </summary>
    private static string? WhyNothingAcknowledged(Interrupts apic, ApicMode mode)
    {
        if (mode == ApicMode.Disabled)
        {
            return "nothing to take: the APIC is hardware-disabled (IA32_APIC_BASE bit 11 clear)";
        }
        if (apic.Irr.Count == 0)
        {
            return apic.SoftwareEnabled
                ? "nothing to take: nothing pending in IRR"
                : "nothing to take: nothing pending in IRR, and the APIC is software-disabled (SVR bit 8 clear): it discards fixed interrupts";
        }
        var highest = apic.Irr.Max;
        var isrv = apic.Isr.Count == 0 ? 0u : (uint)apic.Isr.Max;
        return TracedPriority.Blocked(apic.Tpr, isrv, highest, out _) is { } blocked
            ? "nothing to take: the highest pending vector " + Hex.Of((ulong)highest) + " is " + blocked
            : null;
    }

    private static string FirstWord(string? detail) => detail is null ? string.Empty : TraceDetail.FirstWord(detail);

    /// <summary>One APIC's interrupts as the trace shows them from its creation: pending, in service, TPR, software enable.</summary>
    private sealed class Interrupts
    {
        public SortedSet<int> Irr { get; } = [];

        public SortedSet<int> Isr { get; } = [];

        public uint Tpr { get; set; }

        /// <summary>SVR bit 8: clear at power-on, INIT and hardware disable; <c>ModeChanged</c>'s <c>enabled=</c> tells each change.</summary>
        public bool SoftwareEnabled { get; set; }

        public void PowerOn()
        {
            Irr.Clear();
            Isr.Clear();
            Tpr = 0;
            SoftwareEnabled = false;
        }
    }

    /// <summary>Why a write of ICR low (which sends) sent nothing, or null when it sent an IPI.</summary>
    private static string? WhyNothingSent(uint icr)
    {
        var vector = icr & IcrFields.VectorMask;
        var mode = (icr >> IcrFields.DeliveryModeShift) & IcrFields.DeliveryModeMask;
        var shorthand = (icr >> IcrFields.ShorthandShift) & IcrFields.ShorthandMask;
        var level = (icr & IcrFields.LevelAssert) != 0;
        var levelTriggered = (icr & IcrFields.TriggerLevel) != 0;
        switch (mode)
        {
            case IcrFields.Fixed or IcrFields.LowestPriority when vector < 16:
                return "sends nothing: vector " + Hex.Of(vector) + " is illegal for a " + (mode == IcrFields.Fixed ? "fixed" : "lowest-priority")
                    + " IPI (0-15); the APIC records ESR 0x20 (send illegal vector)";
            case IcrFields.Reserved3 or IcrFields.ExtInt:
                return "sends nothing: delivery mode " + mode + (mode == IcrFields.Reserved3 ? " is reserved" : " (ExtINT) cannot be sent as an IPI");
            case IcrFields.Smi or IcrFields.Nmi or IcrFields.Init or IcrFields.StartUp when shorthand is IcrFields.ShorthandSelf or IcrFields.ShorthandAll:
                var what = mode switch { IcrFields.Smi => "an SMI", IcrFields.Nmi => "an NMI", IcrFields.Init => "an INIT", _ => "a Start-up IPI" };
                return "sends nothing: " + what + " to " + (shorthand == IcrFields.ShorthandSelf ? "self" : "all including self") + " is invalid and ignored";
            case IcrFields.Init when levelTriggered && !level:
                return "sends nothing: an INIT level de-assert is ignored";
            default:
                return null;
        }
    }

    private static string? WhyRead(uint msr, string name, ApicMode? mode)
    {
        if (!IsX2ApicMsr(msr))
        {
            return NotApic(msr);
        }
        if (mode is ApicMode m && m != ApicMode.X2Apic)
        {
            return NotX2Apic(m);
        }
        return msr switch
        {
            ApicMsrs.X2ApicEoi or ApicMsrs.X2ApicSelfIpi => name + " is write-only",
            _ => Absent(msr),
        };
    }

    private static string? WhyWrite(uint msr, string name, ulong? value, ApicMode? mode)
    {
        if (msr == ApicMsrs.ApicBase)
        {
            return value is ulong v ? WhyApicBase(v, mode) : null;
        }
        if (!IsX2ApicMsr(msr))
        {
            return NotApic(msr);
        }
        if (mode is ApicMode m && m != ApicMode.X2Apic)
        {
            return NotX2Apic(m);
        }
        var offset = ApicOffsets.FromMsr(msr);
        var readOnly = offset is ApicOffsets.Id or ApicOffsets.Version or ApicOffsets.Ppr or ApicOffsets.Ldr
            or ApicOffsets.TimerCurrentCount || offset is >= ApicOffsets.Isr0 and < ApicOffsets.Esr;
        if (readOnly)
        {
            return name + " is read-only";
        }
        if (value is not ulong written)
        {
            return null;
        }
        if (msr == ApicMsrs.X2ApicIcr)
        {
            var reserved = (uint)written & Icr.X2ApicReserved;
            return reserved == 0 ? null : "reserved ICR bits set (" + Hex.Of(reserved) + "; bits 31:20, 17:16 and 13 must be 0)";
        }
        if (written >> 32 != 0)
        {
            return "bits 63:32 are reserved in every x2APIC register but the ICR (" + Hex.Of(written & 0xFFFF_FFFF_0000_0000) + ")";
        }
        var low = (uint)written;
        string Reserved(uint writable, string bits) =>
            (low & ~writable) == 0 ? null! : name + " bits " + bits + " are reserved (" + Hex.Of(low & ~writable) + ")";
        return offset switch
        {
            ApicOffsets.Tpr => Reserved(0xFF, "31:8"),
            ApicOffsets.Svr => Reserved(0x13FF, "31:13 and 11:10"),
            ApicOffsets.Eoi or ApicOffsets.Esr => low == 0 ? null : "only 0 may be written to " + name,
            ApicOffsets.SelfIpi => Reserved(0xFF, "31:8"),
            ApicOffsets.LvtTimer => Reserved(0x0007_00FF | 0x5000, "outside 0x700ff"),
            ApicOffsets.LvtLint0 or ApicOffsets.LvtLint1 => Reserved(0x0001_A7FF | 0x5000, "outside 0x1a7ff"),
            ApicOffsets.LvtError => Reserved(0x0001_00FF | 0x5000, "outside 0x100ff"),
            ApicOffsets.LvtCmci or ApicOffsets.LvtThermal or ApicOffsets.LvtPmc => Reserved(0x0001_07FF | 0x5000, "outside 0x107ff"),
            ApicOffsets.TimerInitialCount or ApicOffsets.TimerDivide => null,
            _ => Absent(msr),
        };
    }

    private static string? WhyApicBase(ulong value, ApicMode? mode)
    {
        if ((value & BaseReserved) != 0)
        {
            return "reserved IA32_APIC_BASE bits set (" + Hex.Of(value & BaseReserved) + "; bits 7:0, 9 and 63:46 must be 0)";
        }
        var enable = (value & BaseEnable) != 0;
        var extd = (value & BaseExtd) != 0;
        if (!enable && extd)
        {
            return "IA32_APIC_BASE with EXTD (bit 10) set and EN (bit 11) clear is invalid";
        }
        return mode switch
        {
            ApicMode.Disabled when extd => "a disabled APIC cannot go straight to x2APIC mode: enable it in xAPIC mode first",
            ApicMode.X2Apic when enable && !extd => "an x2APIC cannot go back to xAPIC mode: disable it (EN and EXTD clear) first",
            _ => null,
        };
    }

    private static bool IsX2ApicMsr(uint msr) => msr is >= ApicMsrs.X2ApicFirst and <= ApicMsrs.X2ApicLast;

    private static string NotApic(uint msr) =>
        "MSR " + Hex.Of(msr) + " is not an APIC MSR (only 0x1b, 0x6e0 and 0x800-0x8ff are)";

    private static string NotX2Apic(ApicMode mode) =>
        "the APIC is " + (mode == ApicMode.Disabled ? "disabled" : "in xAPIC mode") + ": x2APIC MSRs answer only in x2APIC mode";

    private static string Absent(uint msr) => "no x2APIC register at MSR " + Hex.Of(msr);
}
