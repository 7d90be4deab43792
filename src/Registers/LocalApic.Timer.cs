namespace VApicActors.Registers;

/// <summary>
/// The APIC timer (SDM 10.5.4) and the TSC-deadline timer (10.5.4.1), on virtual time. Arithmetic is
/// exact (apic-reference.md, "Timer arithmetic"): ticks since t0 are floor((t − t0) · timer-hz / 10⁹);
/// expiry k of a count C at divide D falls at the first ns where t0 + F + k·C·D ticks have passed.
/// </summary>
public sealed partial class LocalApic
{
    private const long NanosecondsPerSecond = 1_000_000_000;
    private const long NotArmed = -1;

    /// <summary>The APIC timer counts (TMICT written, not yet expired in one-shot mode).</summary>
    private bool _timerRunning;
    private long _timerStartNs;
    /// <summary>Ticks from the start to the first expiry (C·D, or the count kept across a divide change).</summary>
    private ulong _timerFirstTicks;
    /// <summary>Ticks of one period (C·D).</summary>
    private ulong _timerPeriodTicks;
    /// <summary>Expiries since the start.</summary>
    private ulong _timerExpiries;
    private uint _timerDivisor = 2;
    private long _timerDueNs = NotArmed;
    private ulong _tscDeadline;

    /// <summary>The virtual time of the next expiry (APIC timer or TSC deadline), or null when none is armed.</summary>
    public long? TimerDue => _timerDueNs == NotArmed ? null : _timerDueNs;

    private uint TimerMode
    {
        get
        {
            var mode = (_page[ApicOffsets.LvtTimer] >> ApicBits.TimerModeShift) & ApicBits.TimerModeMask;
            // Mode 11b is reserved and acts as one-shot.
            return mode == ApicBits.TimerModeMask ? ApicBits.TimerModeOneShot : mode;
        }
    }

    private void ResetTimerState()
    {
        _timerRunning = false;
        _timerStartNs = 0;
        _timerFirstTicks = 0;
        _timerPeriodTicks = 0;
        _timerExpiries = 0;
        _timerDivisor = DivisorOf(0);
        _timerDueNs = NotArmed;
        _tscDeadline = 0;
    }

    /// <summary>DCR → divisor: 0→2, 1→4, 2→8, 3→16, 8→32, 9→64, 0xA→128, 0xB→1 (bit 2 ignored).</summary>
    public static uint DivisorOf(uint dcr) => 1u << (int)((((dcr & 3) | ((dcr & 8) >> 1)) + 1) & 7);

    private ulong TscAt(long now) => (ulong)((UInt128)(ulong)now * (ulong)_config.TscHz / NanosecondsPerSecond);

    private UInt128 TicksSince(long start, long now) =>
        now <= start ? 0 : (UInt128)(ulong)(now - start) * (ulong)_config.TimerHz / NanosecondsPerSecond;

    /// <summary>
    /// The first ns at which <paramref name="ticks"/> ticks have passed since <paramref name="start"/>, or
    /// <see cref="NotArmed"/> when that is past the last ns virtual time can reach (the expiry never comes).
    /// </summary>
    private long TimeOfTicks(long start, UInt128 ticks)
    {
        var hz = (ulong)_config.TimerHz;
        var ns = (ticks * NanosecondsPerSecond + hz - 1) / hz;
        return AtOrNever(start, ns);
    }

    /// <summary><paramref name="start"/> + <paramref name="ns"/>, or <see cref="NotArmed"/> when past <see cref="long.MaxValue"/>.</summary>
    private static long AtOrNever(long start, UInt128 ns) =>
        ns > (UInt128)long.MaxValue || start + (Int128)(long)ns > long.MaxValue ? NotArmed : start + (long)ns;

    private UInt128 TicksOfExpiry(ulong k) => _timerFirstTicks + (UInt128)k * _timerPeriodTicks;

    /// <summary>Arms for <paramref name="dueNs"/>; <see cref="NotArmed"/> (an expiry past the end of virtual time) disarms.</summary>
    private void Arm(long dueNs, IApicEffects effects)
    {
        if (dueNs == NotArmed)
        {
            Disarm(effects);
            return;
        }
        _timerDueNs = dueNs;
        effects.ArmTimer(dueNs);
    }

    private void Disarm(IApicEffects effects)
    {
        if (_timerDueNs == NotArmed) return;
        _timerDueNs = NotArmed;
        effects.CancelTimer();
    }

    /// <summary>TMCCT: ceil(remaining ticks / D) while counting; 0 when stopped, expired, or in TSC-deadline mode.</summary>
    private uint CurrentCount(long now)
    {
        if (!_timerRunning || TimerMode == ApicBits.TimerModeTscDeadline)
        {
            return 0;
        }
        var elapsed = TicksSince(_timerStartNs, now);
        var next = TicksOfExpiry(_timerExpiries);
        if (next <= elapsed)
        {
            if (TimerMode != ApicBits.TimerModePeriodic || _timerPeriodTicks == 0) return 0;
            // The expiry has not been processed yet: count within the period it would be in.
            var k = (elapsed - _timerFirstTicks) / _timerPeriodTicks + 1;
            next = _timerFirstTicks + k * _timerPeriodTicks;
        }
        var remaining = next - elapsed;
        return (uint)((remaining + _timerDivisor - 1) / _timerDivisor);
    }

    private void WriteInitialCount(uint count, long now, IApicEffects effects)
    {
        if (TimerMode == ApicBits.TimerModeTscDeadline)
        {
            return;
        }
        _page[ApicOffsets.TimerInitialCount] = count;
        if (count == 0)
        {
            _timerRunning = false;
            Disarm(effects);
            return;
        }
        StartCounting(now, (ulong)count * _timerDivisor, effects);
    }

    private void StartCounting(long now, ulong firstTicks, IApicEffects effects)
    {
        _timerRunning = true;
        _timerStartNs = now;
        _timerFirstTicks = firstTicks;
        _timerPeriodTicks = (ulong)_page[ApicOffsets.TimerInitialCount] * _timerDivisor;
        _timerExpiries = 0;
        Arm(TimeOfTicks(now, _timerFirstTicks), effects);
    }

    /// <summary>A DCR write while counting keeps the current count and continues at the new rate.</summary>
    private void WriteDivide(uint dcr, long now, IApicEffects effects)
    {
        var current = CurrentCount(now);
        _page[ApicOffsets.TimerDivide] = dcr;
        _timerDivisor = DivisorOf(dcr);
        if (_timerRunning && TimerMode != ApicBits.TimerModeTscDeadline)
        {
            StartCounting(now, (ulong)current * _timerDivisor, effects);
        }
    }

    /// <summary>One-shot ↔ periodic keeps counting; crossing into or out of TSC-deadline mode disarms (decision 5).</summary>
    private void OnTimerLvtWritten(uint previous, uint value, long now, IApicEffects effects)
    {
        var before = (previous >> ApicBits.TimerModeShift) & ApicBits.TimerModeMask;
        var after = (value >> ApicBits.TimerModeShift) & ApicBits.TimerModeMask;
        var wasDeadline = before == ApicBits.TimerModeTscDeadline;
        var isDeadline = after == ApicBits.TimerModeTscDeadline;
        if (wasDeadline == isDeadline)
        {
            return;
        }
        _page[ApicOffsets.TimerInitialCount] = 0;
        _timerRunning = false;
        _tscDeadline = 0;
        Disarm(effects);
    }

    /// <summary>WRMSR IA32_TSC_DEADLINE: arms at a TSC value in TSC-deadline mode (a past deadline fires at once), 0 disarms; ignored in other modes.</summary>
    private void WriteTscDeadline(ulong deadline, long now, IApicEffects effects)
    {
        if (TimerMode != ApicBits.TimerModeTscDeadline)
        {
            return;
        }
        _tscDeadline = deadline;
        if (deadline == 0)
        {
            Disarm(effects);
            return;
        }
        var tscHz = (ulong)_config.TscHz;
        var dueNs = ((UInt128)deadline * NanosecondsPerSecond + tscHz - 1) / tscHz;
        if (dueNs <= (UInt128)(ulong)Math.Max(now, 0))
        {
            _tscDeadline = 0;
            Disarm(effects);
            FireLvt(LvtSource.Timer, effects);
            return;
        }
        Arm(AtOrNever(0, dueNs), effects);
    }

    /// <summary>
    /// The timer expiry armed for <see cref="TimerDue"/> happens (the caller passes that virtual time, or a
    /// later one). Fires the timer LVT (a masked timer still counts but delivers nothing), reloads a periodic
    /// timer and reports its next expiry. Returns false when no expiry was due by <paramref name="now"/>.
    /// </summary>
    public bool ExpireTimer(long now, IApicEffects effects) => ExpireTimers(now, effects) != 0;

    /// <summary>
    /// Like <see cref="ExpireTimer"/>, but a periodic timer takes every expiry due by <paramref name="now"/> in this
    /// one call, and the number taken is returned (0 when none was due). The timer LVT fires for the first and, when
    /// there are more, once again for all the others: after one fire the vector is pending in IRR (or the LVT is
    /// masked, or the error is already collected), so every later fire has the same outcome and changes nothing, and
    /// the caller counts that outcome for each of them.
    /// </summary>
    public ulong ExpireTimers(long now, IApicEffects effects)
    {
        if (_timerDueNs == NotArmed || _timerDueNs > now)
        {
            return 0;
        }
        if (TimerMode == ApicBits.TimerModeTscDeadline)
        {
            _tscDeadline = 0;
            _timerDueNs = NotArmed;
            FireLvt(LvtSource.Timer, effects);
            return 1;
        }
        if (TimerMode == ApicBits.TimerModePeriodic && _timerPeriodTicks != 0)
        {
            var taken = PeriodicExpiriesDueBy(now);
            _timerExpiries += taken;
            _timerDueNs = TimeOfTicks(_timerStartNs, TicksOfExpiry(_timerExpiries));
            FireLvt(LvtSource.Timer, effects);
            if (taken > 1) FireLvt(LvtSource.Timer, effects);
            if (_timerDueNs != NotArmed) effects.ArmTimer(_timerDueNs);
            else effects.CancelTimer();
            return taken;
        }
        _timerExpiries++;
        _timerRunning = false;
        _timerDueNs = NotArmed;
        FireLvt(LvtSource.Timer, effects);
        return 1;
    }

    /// <summary>
    /// The virtual time of the last expiry at or before <paramref name="until"/> of the run that starts at
    /// <see cref="TimerDue"/> (a periodic timer may have many), or null when nothing is due by then.
    /// </summary>
    public long? LastTimerDueBy(long until)
    {
        if (_timerDueNs == NotArmed || _timerDueNs > until)
        {
            return null;
        }
        if (TimerMode != ApicBits.TimerModePeriodic || _timerPeriodTicks == 0)
        {
            return _timerDueNs;
        }
        var last = _timerExpiries + PeriodicExpiriesDueBy(until) - 1;
        return Math.Max(_timerDueNs, TimeOfTicks(_timerStartNs, TicksOfExpiry(last)));
    }

    /// <summary>How many periodic expiries from the next one on have passed by <paramref name="now"/> (at least 1: the caller knows one is due).</summary>
    private ulong PeriodicExpiriesDueBy(long now)
    {
        var elapsed = TicksSince(_timerStartNs, now);
        var next = TicksOfExpiry(_timerExpiries);
        if (elapsed <= next)
        {
            return 1;
        }
        var more = (elapsed - next) / _timerPeriodTicks;
        return more >= ulong.MaxValue - _timerExpiries ? ulong.MaxValue - _timerExpiries : (ulong)more + 1;
    }
}
