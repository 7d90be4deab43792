using System.Numerics;
using System.Runtime.CompilerServices;

namespace VApicActors.Registers;

/// <summary>
/// One virtual local APIC: its 4 KiB register page and every rule of the reference profile
/// (apic-reference.md, after the Intel SDM Vol. 3A chapter 10). The functional core: it reads
/// no clock (virtual time arrives as <c>now</c>, in ns), sends nothing and logs nothing; whatever
/// leaves the APIC is reported to an <see cref="IApicEffects"/>. Not thread-safe: one owner calls it.
/// Guest misbehaviour never throws: it gets the hardware's answer (#GP, ignored write, ESR bit).
/// </summary>
public sealed partial class LocalApic : IDisposable
{
    private const int LvtCount = 7;

    private readonly ApicConfig _config;
    private readonly ApicPage _page;

    /// <summary>Cached copy of SVR, beside the page, for change detection (the seed's <c>svr_last</c>).</summary>
    private uint _svrLast;

    /// <summary>Cached copies of the seven LVTs, indexed by <see cref="LvtSource"/> (the seed's <c>lvt_last</c>).</summary>
    private LvtTable _lvtLast;

    private ApicMode _mode;
    private ulong _apicBase;
    private VcpuRunState _runState;
    private uint _esrPending;
    private bool _firingError;
    private bool _lint0Level;
    private bool _lint1Level;
    private int _lastSignalled = -1;
    private int _nmiCount;
    private int _smiCount;
    private int _sipiVector = -1;

    /// <summary>The highest vector in IRR and in ISR, or -1: derived from the page, kept beside it so the hot path need not scan.</summary>
    private int _highestIrr = -1;
    private int _highestIsr = -1;

    [InlineArray(LvtCount)]
    private struct LvtTable
    {
        private uint _element;
    }

    public LocalApic(ApicConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        _page = new ApicPage();
        _mode = config.StartInX2Apic ? ApicMode.X2Apic : ApicMode.XApic;
        _apicBase = ApicBits.BaseDefaultAddress | ApicBits.BaseEnable
            | (config.IsBsp ? ApicBits.BaseBsp : 0)
            | (config.StartInX2Apic ? ApicBits.BaseExtd : 0);
        _runState = config.StartRunning ? VcpuRunState.Running : VcpuRunState.WaitForSipi;
        ResetRegisters();
    }

    public ApicConfig Config => _config;
    public int Index => _config.Index;
    public uint InitialApicId => _config.InitialApicId;
    public ApicMode Mode => _mode;
    public VcpuRunState RunState => _runState;
    public ulong ApicBase => _apicBase;
    public bool SoftwareEnabled => (_svrLast & ApicBits.SvrEnable) != 0;
    public int NmiCount => _nmiCount;
    public int SmiCount => _smiCount;

    /// <summary>The vector of the last Start-up IPI that started this vCPU, or -1.</summary>
    public int SipiVector => _sipiVector;

    /// <summary>The page the registers live in (for save, restore and byte-for-byte comparison).</summary>
    public ApicPage Page => _page;

    public VectorSet Irr => ReadVectorSet(ApicOffsets.Irr0);
    public VectorSet Isr => ReadVectorSet(ApicOffsets.Isr0);
    public VectorSet Tmr => ReadVectorSet(ApicOffsets.Tmr0);

    /// <summary>The highest vector in service (the SDM's ISRV), or -1: <see cref="Isr"/>'s highest, without reading the page.</summary>
    public int HighestIsr => _highestIsr;

    public byte Tpr => (byte)_page[ApicOffsets.Tpr];
    public byte Ppr => (byte)_page[ApicOffsets.Ppr];

    /// <summary>The ID routing sees: all 32 bits in x2APIC mode, ID[31:24] otherwise.</summary>
    public uint ApicId => _mode == ApicMode.X2Apic ? _page[ApicOffsets.Id] : _page[ApicOffsets.Id] >> (int)ApicBits.XApicIdShift;

    public ApicRoutingIdentity Identity => new(
        Index,
        ApicId,
        _mode,
        SoftwareEnabled,
        _page[ApicOffsets.Ldr],
        (byte)(_page[ApicOffsets.Dfr] >> 28));

    /// <summary>
    /// The vector the APIC presents to its core now: the highest IRR vector whose priority class is
    /// above PPR's (SDM 10.8.3.1), or -1.
    /// </summary>
    public int PendingVector
    {
        get
        {
            if (_mode == ApicMode.Disabled) return -1;
            var irrv = _highestIrr;
            if (irrv < 0) return -1;
            return (irrv & ApicBits.PriorityClassMask) > (_page[ApicOffsets.Ppr] & ApicBits.PriorityClassMask) ? irrv : -1;
        }
    }

    // ---------------------------------------------------------------- reset and mode

    /// <summary>
    /// The power-on register state (SDM 10.4.7.1), keeping the ID: everything zero but DFR all ones,
    /// SVR 0xFF and every LVT masked. In x2APIC mode the ID is the full initial ID and the LDR is derived.
    /// </summary>
    private void ResetRegisters()
    {
        _page.Clear();
        _highestIrr = -1;
        _highestIsr = -1;
        _page[ApicOffsets.Version] = ApicBits.Version;
        _page[ApicOffsets.Dfr] = ApicBits.DfrReset;
        _page[ApicOffsets.Svr] = ApicBits.SvrReset;
        _svrLast = ApicBits.SvrReset;
        for (var i = 0; i < LvtCount; i++)
        {
            _page[LvtOffset((LvtSource)i)] = ApicBits.LvtReset;
            _lvtLast[i] = ApicBits.LvtReset;
        }
        WriteIdForMode();
        _esrPending = 0;
        _firingError = false;
        _lastSignalled = -1;
        ResetTimerState();
    }

    private void WriteIdForMode()
    {
        if (_mode == ApicMode.X2Apic)
        {
            _page[ApicOffsets.Id] = _config.InitialApicId;
            _page[ApicOffsets.Ldr] = DestinationMatcher.X2ApicLdr(_config.InitialApicId);
        }
        else
        {
            _page[ApicOffsets.Id] = (_config.InitialApicId & 0xFF) << (int)ApicBits.XApicIdShift;
        }
    }

    /// <summary>INIT (SDM 10.4.7.3): power-on registers except the ID and IA32_APIC_BASE; an AP waits for SIPI.</summary>
    private void InitReset(IApicEffects effects)
    {
        var wasArmed = TimerDue.HasValue;
        ResetRegisters();
        if (wasArmed) effects.CancelTimer();
        _runState = _config.IsBsp ? VcpuRunState.Running : VcpuRunState.WaitForSipi;
        effects.RoutingChanged(Identity);
    }

    /// <summary>WRMSR IA32_APIC_BASE: the transition matrix of SDM 10.12.5 (Fig. 10-27), profile decisions 11 and 12.</summary>
    private AccessResult WriteApicBase(ulong value, IApicEffects effects)
    {
        if ((value & ApicBits.BaseReserved) != 0)
        {
            return AccessResult.Fault;
        }
        var enable = (value & ApicBits.BaseEnable) != 0;
        var extd = (value & ApicBits.BaseExtd) != 0;
        if (!enable && extd)
        {
            return AccessResult.Fault;
        }
        var target = !enable ? ApicMode.Disabled : extd ? ApicMode.X2Apic : ApicMode.XApic;
        if ((_mode == ApicMode.Disabled && target == ApicMode.X2Apic) || (_mode == ApicMode.X2Apic && target == ApicMode.XApic))
        {
            return AccessResult.Fault;
        }
        _apicBase = (value & (ApicBits.BaseAddressMask | ApicBits.BaseEnable | ApicBits.BaseExtd)) | (_apicBase & ApicBits.BaseBsp);
        if (target == _mode)
        {
            return AccessResult.Done;
        }
        _mode = target;
        switch (target)
        {
            case ApicMode.Disabled:
                var wasArmed = TimerDue.HasValue;
                ResetRegisters();
                if (wasArmed) effects.CancelTimer();
                break;
            case ApicMode.XApic:
                // Disabled → xAPIC: the registers are at their power-on values already.
                WriteIdForMode();
                break;
            case ApicMode.X2Apic:
                // xAPIC → x2APIC (SDM 10.12.5.1): full ID, derived LDR, ICR destination cleared.
                WriteIdForMode();
                _page[ApicOffsets.IcrHigh] = 0;
                break;
        }
        effects.RoutingChanged(Identity);
        CheckDeliverable(effects);
        return AccessResult.Done;
    }

    // ---------------------------------------------------------------- core actions

    /// <summary>
    /// The interrupt-acknowledge cycle: the highest deliverable IRR vector moves to ISR and PPR follows.
    /// <see cref="AccessStatus.None"/> when nothing is deliverable.
    /// </summary>
    public AccessResult Acknowledge(long now, IApicEffects effects)
    {
        if (_runState != VcpuRunState.Running) return AccessResult.NotRunning;
        var vector = PendingVector;
        if (vector < 0) return AccessResult.Nothing;
        ClearIrr(vector);
        SetIsr(vector);
        UpdatePpr();
        _lastSignalled = -1;
        CheckDeliverable(effects);
        return AccessResult.Of((ulong)vector);
    }

    /// <summary>EOI the way the guest does in its current mode: MMIO write of 0 to 0xB0, or WRMSR 0x80B with 0.</summary>
    public AccessResult Eoi(long now, IApicEffects effects) => _mode == ApicMode.X2Apic
        ? WriteMsr(ApicMsrs.X2ApicEoi, 0, now, effects)
        : WriteMmio((_apicBase & ApicBits.BaseAddressMask) + ApicOffsets.Eoi, sizeof(uint), 0, now, effects);

    /// <summary>RDTSC by this vCPU: floor(now · tsc-hz / 10⁹).</summary>
    public AccessResult ReadTsc(long now) => _runState != VcpuRunState.Running
        ? AccessResult.NotRunning
        : AccessResult.Of(TscAt(now));

    /// <summary>What this APIC answers in a lowest-priority arbitration round for <paramref name="vector"/>.</summary>
    public LowestPriorityBid Bid(byte vector) => new(
        Index,
        ApicId,
        Eligible: _mode != ApicMode.Disabled && SoftwareEnabled,
        Ppr,
        Focus: (_svrLast & ApicBits.SvrFocusDisable) == 0 && (TestBit(ApicOffsets.Irr0, vector) || TestBit(ApicOffsets.Isr0, vector)));

    public ApicSnapshot Snapshot(long now) => new(
        Index,
        ApicId,
        _mode,
        _runState,
        _apicBase,
        Irr,
        Isr,
        Tmr,
        Tpr,
        Ppr,
        _page[ApicOffsets.Svr],
        _page[ApicOffsets.Ldr],
        _page[ApicOffsets.Dfr],
        _page[ApicOffsets.Esr],
        _page[ApicOffsets.LvtTimer],
        _page[ApicOffsets.LvtLint0],
        _page[ApicOffsets.LvtLint1],
        _page[ApicOffsets.LvtError],
        _page[ApicOffsets.TimerInitialCount],
        CurrentCount(now),
        _page[ApicOffsets.TimerDivide],
        TimerMode == ApicBits.TimerModeTscDeadline ? _tscDeadline : 0,
        TimerDue,
        PendingVector,
        _nmiCount,
        _smiCount,
        _sipiVector);

    public void Dispose() => _page.Dispose();

    // ---------------------------------------------------------------- vector sets in the page

    private static uint WordOffset(uint baseOffset, int vector) => baseOffset + (uint)(vector >> 5) * ApicOffsets.Stride;

    private bool TestBit(uint baseOffset, int vector) => (_page[WordOffset(baseOffset, vector)] & (1u << (vector & 31))) != 0;

    private void SetBit(uint baseOffset, int vector) => _page[WordOffset(baseOffset, vector)] |= 1u << (vector & 31);

    private void ClearBit(uint baseOffset, int vector) => _page[WordOffset(baseOffset, vector)] &= ~(1u << (vector & 31));

    private void SetIrr(int vector)
    {
        SetBit(ApicOffsets.Irr0, vector);
        if (vector > _highestIrr) _highestIrr = vector;
    }

    private void ClearIrr(int vector)
    {
        ClearBit(ApicOffsets.Irr0, vector);
        if (vector == _highestIrr) _highestIrr = HighestVector(ApicOffsets.Irr0);
    }

    private void SetIsr(int vector)
    {
        SetBit(ApicOffsets.Isr0, vector);
        if (vector > _highestIsr) _highestIsr = vector;
    }

    private void ClearIsr(int vector)
    {
        ClearBit(ApicOffsets.Isr0, vector);
        if (vector == _highestIsr) _highestIsr = HighestVector(ApicOffsets.Isr0);
    }

    /// <summary>Derives the highest-vector caches from the page (after it was written as a whole).</summary>
    private void RecomputeHighestVectors()
    {
        _highestIrr = HighestVector(ApicOffsets.Irr0);
        _highestIsr = HighestVector(ApicOffsets.Isr0);
    }

    /// <summary>The highest vector set in IRR, ISR or TMR (given by its first word), or -1.</summary>
    private int HighestVector(uint baseOffset)
    {
        for (var word = 7; word >= 0; word--)
        {
            var bits = _page[baseOffset + (uint)word * ApicOffsets.Stride];
            if (bits != 0) return (word << 5) + 31 - BitOperations.LeadingZeroCount(bits);
        }
        return -1;
    }

    private VectorSet ReadVectorSet(uint baseOffset)
    {
        Span<ulong> words = stackalloc ulong[4];
        for (var i = 0; i < 4; i++)
        {
            words[i] = _page[baseOffset + (uint)(2 * i) * ApicOffsets.Stride]
                | ((ulong)_page[baseOffset + (uint)(2 * i + 1) * ApicOffsets.Stride] << 32);
        }
        return new VectorSet(words[0], words[1], words[2], words[3]);
    }

    private static uint LvtOffset(LvtSource source) => ApicOffsets.OfLvt(source);
}
