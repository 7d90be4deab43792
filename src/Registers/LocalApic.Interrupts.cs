namespace VApicActors.Registers;

/// <summary>Priority, acceptance, EOI, IPIs, errors and the local vector table.</summary>
public sealed partial class LocalApic
{
    // ---------------------------------------------------------------- priority (SDM 10.8.3.1)

    private void UpdatePpr()
    {
        var tpr = _page[ApicOffsets.Tpr];
        var isrv = _highestIsr;
        var isrClass = isrv < 0 ? 0u : (uint)isrv & ApicBits.PriorityClassMask;
        _page[ApicOffsets.Ppr] = (tpr & ApicBits.PriorityClassMask) >= isrClass ? tpr : isrClass;
    }

    private void WriteTpr(uint tpr, IApicEffects effects)
    {
        _page[ApicOffsets.Tpr] = tpr;
        UpdatePpr();
        CheckDeliverable(effects);
    }

    /// <summary>Reports the deliverable vector when it is new since the last report.</summary>
    private void CheckDeliverable(IApicEffects effects)
    {
        var pending = PendingVector;
        if (pending >= 0 && pending != _lastSignalled)
        {
            effects.InterruptDeliverable((byte)pending);
        }
        _lastSignalled = pending;
    }

    // ---------------------------------------------------------------- SVR (SDM 10.4.7.2, 10.9)

    private void WriteSvr(uint svr, IApicEffects effects)
    {
        var wasEnabled = SoftwareEnabled;
        _page[ApicOffsets.Svr] = svr;
        _svrLast = svr;
        if (!SoftwareEnabled)
        {
            // Software disable masks every LVT; enabling again unmasks nothing.
            for (var i = 0; i < LvtCount; i++)
            {
                var offset = LvtOffset((LvtSource)i);
                _page[offset] |= ApicBits.LvtMasked;
                _lvtLast[i] = _page[offset];
            }
        }
        if (wasEnabled != SoftwareEnabled)
        {
            effects.RoutingChanged(Identity);
        }
    }

    // ---------------------------------------------------------------- ESR (SDM 10.5.3, profile decision 4)

    /// <summary>A write to ESR: the errors collected since the last write become readable, and collecting starts afresh.</summary>
    private void LatchErrors()
    {
        _page[ApicOffsets.Esr] = _esrPending;
        _esrPending = 0;
    }

    /// <summary>Records an error; a newly recorded bit fires the Error LVT when it is unmasked.</summary>
    private void RecordError(uint bits, IApicEffects effects)
    {
        var fresh = bits & ~_esrPending;
        _esrPending |= bits;
        if (fresh == 0 || _firingError)
        {
            return;
        }
        _firingError = true;
        FireLvt(LvtSource.Error, effects);
        _firingError = false;
    }

    // ---------------------------------------------------------------- IPIs (SDM 10.6.1, profile decisions 7–10)

    /// <summary>Checks and decodes an ICR write and reports the IPI; invalid combinations send nothing.</summary>
    private void SendIpi(uint low, uint destination, IApicEffects effects)
    {
        var icr = new Icr(low, destination);
        var selfIncluded = icr.Shorthand is DestinationShorthand.Self or DestinationShorthand.AllIncludingSelf;
        switch (icr.DeliveryMode)
        {
            case DeliveryMode.Fixed:
            case DeliveryMode.LowestPriority:
                if (icr.Vector < ApicBits.FirstLegalVector)
                {
                    RecordError(ApicBits.EsrSendIllegalVector, effects);
                    return;
                }
                break;
            case DeliveryMode.Nmi:
            case DeliveryMode.Smi:
            case DeliveryMode.StartUp:
                if (selfIncluded) return;
                break;
            case DeliveryMode.Init:
                if (selfIncluded || (icr.Trigger == TriggerMode.Level && !icr.Assert)) return;
                break;
            default:
                // Reserved (3) and ExtINT (7) send nothing.
                return;
        }
        effects.SendInterrupt(new InterruptRequest(
            icr.DeliveryMode,
            icr.Vector,
            TriggerMode.Edge,
            Assert: true,
            icr.Logical,
            icr.Shorthand,
            destination,
            X2ApicFormat: _mode == ApicMode.X2Apic));
    }

    /// <summary>x2APIC SELF IPI (SDM 10.12.11): a fixed, edge-triggered IPI to this APIC.</summary>
    private void SendSelfIpi(byte vector, IApicEffects effects)
    {
        if (vector < ApicBits.FirstLegalVector)
        {
            RecordError(ApicBits.EsrSendIllegalVector, effects);
            return;
        }
        effects.SendInterrupt(new InterruptRequest(
            DeliveryMode.Fixed, vector, TriggerMode.Edge, Assert: true, Logical: false,
            DestinationShorthand.Self, ApicId, X2ApicFormat: true));
    }

    // ---------------------------------------------------------------- acceptance (SDM 10.6.1, 10.8.4)

    /// <summary>
    /// An interrupt message arrives. Fixed: the IRR bit is set (or absorbs it) and TMR records the trigger;
    /// discarded while software-disabled or for vectors 0–15 (ESR 0x40). NMI, SMI, INIT and Start-up bypass IRR
    /// and ISR. A hardware-disabled APIC receives nothing.
    /// </summary>
    public AcceptOutcome Accept(in InterruptMessage message, long now, IApicEffects effects)
    {
        if (_mode == ApicMode.Disabled)
        {
            return AcceptOutcome.DroppedHardwareDisabled;
        }
        switch (message.Mode)
        {
            case DeliveryMode.Fixed:
            case DeliveryMode.LowestPriority:
                if (message.Trigger == TriggerMode.Level && !message.Assert) return AcceptOutcome.DroppedNoEffect;
                return AcceptFixed(message.Vector, message.Trigger, effects);
            case DeliveryMode.Nmi:
                return DeliverNmi();
            case DeliveryMode.Smi:
                if (_runState != VcpuRunState.Running) return AcceptOutcome.DroppedNotRunning;
                _smiCount++;
                return AcceptOutcome.SmiDelivered;
            case DeliveryMode.Init:
                if (message.Trigger == TriggerMode.Level && !message.Assert) return AcceptOutcome.DroppedNoEffect;
                InitReset(effects);
                return AcceptOutcome.InitReset;
            case DeliveryMode.StartUp:
                if (_runState != VcpuRunState.WaitForSipi) return AcceptOutcome.DroppedNotWaitingForSipi;
                _runState = VcpuRunState.Running;
                _sipiVector = message.Vector;
                return AcceptOutcome.Started;
            default:
                return AcceptOutcome.DroppedNoEffect;
        }
    }

    private AcceptOutcome DeliverNmi()
    {
        if (_runState != VcpuRunState.Running) return AcceptOutcome.DroppedNotRunning;
        _nmiCount++;
        return AcceptOutcome.NmiDelivered;
    }

    private AcceptOutcome AcceptFixed(byte vector, TriggerMode trigger, IApicEffects effects)
    {
        if (!SoftwareEnabled)
        {
            return AcceptOutcome.DroppedSoftwareDisabled;
        }
        if (vector < ApicBits.FirstLegalVector)
        {
            RecordError(ApicBits.EsrReceiveIllegalVector, effects);
            return AcceptOutcome.DroppedIllegalVector;
        }
        if (trigger == TriggerMode.Level) SetBit(ApicOffsets.Tmr0, vector);
        else ClearBit(ApicOffsets.Tmr0, vector);
        if (TestBit(ApicOffsets.Irr0, vector))
        {
            return AcceptOutcome.Coalesced;
        }
        SetIrr(vector);
        CheckDeliverable(effects);
        return AcceptOutcome.Accepted;
    }

    // ---------------------------------------------------------------- EOI (SDM 10.8.5)

    private void ProcessEoi(IApicEffects effects)
    {
        var vector = _highestIsr;
        if (vector < 0)
        {
            return;
        }
        ClearIsr(vector);
        UpdatePpr();
        if (TestBit(ApicOffsets.Tmr0, vector) && (_svrLast & ApicBits.SvrSuppressEoiBroadcast) == 0)
        {
            effects.BroadcastEoi((byte)vector);
        }
        ClearRemoteIrr(LvtSource.Lint0, vector, effects);
        ClearRemoteIrr(LvtSource.Lint1, vector, effects);
        CheckDeliverable(effects);
    }

    /// <summary>The EOI of a level-triggered LINT's vector clears its remote IRR; a pin still active fires again.</summary>
    private void ClearRemoteIrr(LvtSource pin, int vector, IApicEffects effects)
    {
        var offset = LvtOffset(pin);
        var lvt = _page[offset];
        if ((lvt & ApicBits.LvtRemoteIrr) == 0 || (lvt & ApicBits.VectorMask) != vector)
        {
            return;
        }
        StoreLvt(pin, lvt & ~ApicBits.LvtRemoteIrr);
        EvaluateLevelLint(pin, effects);
    }

    // ---------------------------------------------------------------- local vector table (SDM 10.5.1)

    private void StoreLvt(LvtSource source, uint value)
    {
        _page[LvtOffset(source)] = value;
        _lvtLast[(int)source] = value;
    }

    /// <summary>An LVT write: masked while software-disabled; read-only bits kept; timer mode changes handled.</summary>
    private void WriteLvt(LvtSource source, uint value, long now, IApicEffects effects)
    {
        if (!SoftwareEnabled)
        {
            value |= ApicBits.LvtMasked;
        }
        var previous = _lvtLast[(int)source];
        if (source is LvtSource.Lint0 or LvtSource.Lint1 && (value & ApicBits.LvtLevelTriggered) != 0)
        {
            value |= previous & ApicBits.LvtRemoteIrr;
        }
        StoreLvt(source, value);
        switch (source)
        {
            case LvtSource.Timer:
                OnTimerLvtWritten(previous, value, now, effects);
                break;
            case LvtSource.Lint0:
            case LvtSource.Lint1:
                EvaluateLevelLint(source, effects);
                break;
        }
    }

    /// <summary>
    /// A local source raises its interrupt through its LVT: Thermal, performance counter and CMCI events
    /// (the timer, the LINT pins and errors have entry points of their own, but may come here too).
    /// An Intel PMI masks an unmasked PMC LVT when it is signalled, whether or not its vector is taken (SDM 10.5.1;
    /// docs/decisions.md, 14).
    /// </summary>
    public AcceptOutcome RaiseLocal(LvtSource source, long now, IApicEffects effects)
    {
        if (_mode == ApicMode.Disabled)
        {
            return AcceptOutcome.DroppedHardwareDisabled;
        }
        var outcome = FireLvt(source, effects);
        if (source == LvtSource.PerformanceCounter && outcome != AcceptOutcome.DroppedMasked)
        {
            StoreLvt(source, _page[ApicOffsets.LvtPmc] | ApicBits.LvtMasked);
        }
        return outcome;
    }

    /// <summary>Delivers through one LVT by its delivery mode, and reports what happened.</summary>
    private AcceptOutcome FireLvt(LvtSource source, IApicEffects effects)
    {
        var lvt = _page[LvtOffset(source)];
        var vector = (byte)(lvt & ApicBits.VectorMask);
        AcceptOutcome outcome;
        if ((lvt & ApicBits.LvtMasked) != 0)
        {
            outcome = AcceptOutcome.DroppedMasked;
        }
        else
        {
            // The timer and error LVTs have no delivery-mode field: they are always fixed.
            var mode = source is LvtSource.Timer or LvtSource.Error
                ? DeliveryMode.Fixed
                : (DeliveryMode)((lvt >> ApicBits.LvtDeliveryModeShift) & ApicBits.LvtDeliveryModeMask);
            var trigger = source is LvtSource.Lint0 or LvtSource.Lint1 && (lvt & ApicBits.LvtLevelTriggered) != 0
                ? TriggerMode.Level
                : TriggerMode.Edge;
            outcome = mode switch
            {
                DeliveryMode.Fixed => AcceptFixed(vector, trigger, effects),
                DeliveryMode.Nmi => DeliverNmi(),
                DeliveryMode.Smi => Accept(InterruptMessage.Smi, 0, effects),
                // INIT is a LINT delivery mode only: the thermal, performance-counter and CMCI LVTs do not support it
                // (SDM Fig. 10-8; docs/decisions.md, 28), so there it acts like a reserved mode.
                DeliveryMode.Init when source is LvtSource.Lint0 or LvtSource.Lint1 => Accept(InterruptMessage.Init, 0, effects),
                _ => AcceptOutcome.DroppedNoEffect,
            };
        }
        effects.LocalInterrupt(source, vector, outcome);
        return outcome;
    }

    // ---------------------------------------------------------------- LINT pins

    /// <summary>
    /// Drives LINT0 (<paramref name="pin"/> 0) or LINT1 (1). Edge sources fire on the inactive→active edge
    /// (LVT bit 13 selects active low); a level-triggered fixed LINT fires while active and remote IRR is
    /// clear. A hardware-disabled APIC's LINT1 is the NMI pin and LINT0 the INTR pin.
    /// </summary>
    public void SetLint(int pin, bool level, long now, IApicEffects effects)
    {
        if (pin is not (0 or 1))
        {
            throw new ArgumentOutOfRangeException(nameof(pin), pin, "LINT0 or LINT1");
        }
        var source = pin == 0 ? LvtSource.Lint0 : LvtSource.Lint1;
        var previous = pin == 0 ? _lint0Level : _lint1Level;
        if (pin == 0) _lint0Level = level;
        else _lint1Level = level;

        if (_mode == ApicMode.Disabled)
        {
            if (pin == 1 && level && !previous)
            {
                effects.LocalInterrupt(source, 0, DeliverNmi());
            }
            return;
        }
        var lvt = _page[LvtOffset(source)];
        if ((lvt & ApicBits.LvtLevelTriggered) != 0 && IsFixed(lvt))
        {
            EvaluateLevelLint(source, effects);
            return;
        }
        var activeLow = (lvt & ApicBits.LvtActiveLow) != 0;
        if (level != activeLow && previous == activeLow)
        {
            FireLvt(source, effects);
        }
    }

    private static bool IsFixed(uint lvt) =>
        (DeliveryMode)((lvt >> ApicBits.LvtDeliveryModeShift) & ApicBits.LvtDeliveryModeMask) == DeliveryMode.Fixed;

    /// <summary>A level-triggered fixed LINT fires while its pin is active, unmasked and remote IRR is clear.</summary>
    private void EvaluateLevelLint(LvtSource source, IApicEffects effects)
    {
        if (_mode == ApicMode.Disabled) return;
        var lvt = _page[LvtOffset(source)];
        if ((lvt & ApicBits.LvtLevelTriggered) == 0 || !IsFixed(lvt)
            || (lvt & (ApicBits.LvtMasked | ApicBits.LvtRemoteIrr)) != 0)
        {
            return;
        }
        var level = source == LvtSource.Lint0 ? _lint0Level : _lint1Level;
        var active = level != ((lvt & ApicBits.LvtActiveLow) != 0);
        if (!active) return;
        var outcome = FireLvt(source, effects);
        if (outcome is AcceptOutcome.Accepted or AcceptOutcome.Coalesced)
        {
            StoreLvt(source, _page[LvtOffset(source)] | ApicBits.LvtRemoteIrr);
        }
    }
}
