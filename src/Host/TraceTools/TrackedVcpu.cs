using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>The APIC mode the importer believes a vCPU is in at a point of the script.</summary>
internal enum TrackedMode
{
    Disabled,
    XApic,
    X2Apic,
}

/// <summary>
/// What the importer knows about one simulated vCPU while it writes the script: its mode and base, whether its APIC
/// is software-enabled and running, the register values the trace wrote (the only ones a read may be checked
/// against), and the interrupts the script has made pending or in service. This is bookkeeping for deciding which
/// expectations are sound, not a second simulator: it follows only what the script itself caused.
/// </summary>
internal sealed class TrackedVcpu(int index, TrackedMode mode)
{
    public const ulong DefaultBase = 0xFEE0_0000;
    public const ulong BaseBsp = 1UL << 8;
    public const ulong BaseExtd = 1UL << 10;
    public const ulong BaseEnable = 1UL << 11;
    public const ulong BaseAddressMask = 0x0000_3FFF_FFFF_F000;
    public const uint SvrEnable = 1u << 8;
    public const uint LvtMasked = 1u << 16;
    private const uint PriorityClassMask = 0xF0;
    private const uint TprMask = 0xFF;

    private readonly Dictionary<uint, ulong> _written = [];

    public int Index { get; } = index;
    public TrackedMode Mode { get; private set; } = mode;
    public ulong Base { get; private set; } = DefaultBase;
    public bool SoftwareEnabled { get; set; } = true;
    public bool Running { get; set; } = true;
    public uint Tpr { get; private set; }
    public SortedSet<int> Irr { get; } = [];
    public SortedSet<int> Isr { get; } = [];
    public int Nmis { get; set; }
    public int Smis { get; set; }
    public int? LastSipi { get; set; }

    /// <summary>
    /// Why nothing more is checked on this vCPU: an IPI whose lines are not all in the excerpt may have changed it in ways
    /// the importer cannot follow (an INIT, say). Null while its checks are sound.
    /// </summary>
    public string? Unchecked { get; set; }

    /// <summary>Fixed interrupts reach the IRR only with the APIC hardware- and software-enabled.</summary>
    public bool AcceptsFixed => Mode != TrackedMode.Disabled && SoftwareEnabled;

    public bool IsX2Apic => Mode == TrackedMode.X2Apic;

    /// <summary>The value the trace last wrote to a register on this vCPU, if it did since the last reset.</summary>
    public ulong? Written(uint offset) => _written.TryGetValue(offset, out var v) ? v : null;

    /// <summary>A guest write that took effect: remember it and follow its side effects on the bookkeeping.</summary>
    public void ApplyWrite(uint offset, ulong value)
    {
        switch (offset)
        {
            case ApicOffsets.Tpr:
                Tpr = (uint)value & TprMask;
                break;
            case ApicOffsets.Svr:
                SoftwareEnabled = (value & SvrEnable) != 0;
                if (!SoftwareEnabled)
                {
                    foreach (var lvt in LvtOffsets.Where(_written.ContainsKey))
                    {
                        _written[lvt] |= LvtMasked;
                    }
                }
                break;
            case ApicOffsets.Eoi:
                EndOfInterrupt();
                return;
        }
        if (LvtOffsets.Contains(offset) && !SoftwareEnabled)
        {
            value |= LvtMasked;
        }
        _written[offset] = value;
    }

    /// <summary>A write to IA32_APIC_BASE that took effect.</summary>
    public void ApplyApicBase(ulong value)
    {
        var next = (value & BaseEnable) == 0 ? TrackedMode.Disabled
            : (value & BaseExtd) != 0 ? TrackedMode.X2Apic
            : TrackedMode.XApic;
        Base = value & BaseAddressMask;
        if (next == TrackedMode.Disabled)
        {
            PowerOn();
        }
        else if (next == TrackedMode.X2Apic && Mode != TrackedMode.X2Apic)
        {
            _written.Remove(ApicOffsets.IcrLow);
            _written.Remove(ApicOffsets.IcrHigh);
            _written.Remove(ApicOffsets.Ldr);
            _written.Remove(ApicOffsets.Dfr);
        }
        else if (Mode == TrackedMode.Disabled)
        {
            PowerOn();
        }
        Mode = next;
    }

    /// <summary>IA32_APIC_BASE as the simulator would read it now.</summary>
    public ulong ApicBase =>
        Mode == TrackedMode.Disabled ? Base | (Index == 0 ? BaseBsp : 0)
        : Base | BaseEnable | (IsX2Apic ? BaseExtd : 0) | (Index == 0 ? BaseBsp : 0);

    /// <summary>INIT: the APIC returns to its power-on state (mode and ID kept); an AP then waits for SIPI.</summary>
    public void Init()
    {
        PowerOn();
        Running = Index == 0;
    }

    /// <summary>The vector <c>ack</c> would take now: the highest IRR vector whose class is above PPR's, or null.</summary>
    public int? PredictAck()
    {
        if (Irr.Count == 0)
        {
            return null;
        }
        var isrv = Isr.Count == 0 ? 0u : (uint)Isr.Max;
        var ppr = (Tpr & PriorityClassMask) >= (isrv & PriorityClassMask) ? Tpr : isrv & PriorityClassMask;
        var highest = Irr.Max;
        return ((uint)highest & PriorityClassMask) > (ppr & PriorityClassMask) ? highest : null;
    }

    public void Acknowledge(int vector)
    {
        Irr.Remove(vector);
        Isr.Add(vector);
    }

    /// <summary>An EOI clears the highest vector in service; returns it, or null when nothing was.</summary>
    public int? EndOfInterrupt()
    {
        if (Isr.Count == 0)
        {
            return null;
        }
        var top = Isr.Max;
        Isr.Remove(top);
        return top;
    }

    private void PowerOn()
    {
        _written.Clear();
        SoftwareEnabled = false;
        Tpr = 0;
        Irr.Clear();
        Isr.Clear();
    }

    internal static readonly uint[] LvtOffsets =
    [
        ApicOffsets.LvtCmci, ApicOffsets.LvtTimer, ApicOffsets.LvtThermal, ApicOffsets.LvtPmc,
        ApicOffsets.LvtLint0, ApicOffsets.LvtLint1, ApicOffsets.LvtError,
    ];
}
