namespace VApicActors.Registers;

/// <summary>The two guest access paths: xAPIC MMIO and x2APIC MSRs, with IA32_APIC_BASE and IA32_TSC_DEADLINE.</summary>
public sealed partial class LocalApic
{
    private const uint RegisterWidth = sizeof(uint);
    private const int MaxAccessSize = sizeof(ulong);

    // ---------------------------------------------------------------- xAPIC MMIO

    /// <summary>
    /// Guest-physical MMIO read of 1, 2, 4 or 8 bytes (profile decision 14): a read inside one 4-byte
    /// register returns its addressed bytes; a read running past it, or a 64-bit read, returns 0; a reserved
    /// offset reads 0 and records ESR 0x80. Outside this APIC's page, or while the APIC is disabled or in
    /// x2APIC mode, the read returns all ones.
    /// </summary>
    public AccessResult ReadMmio(ulong address, int size, long now, IApicEffects effects)
    {
        CheckSize(size);
        if (_runState != VcpuRunState.Running) return AccessResult.NotRunning;
        if (!TryPageOffset(address, out var offset))
        {
            return AccessResult.Of(AllOnes(size));
        }
        var byteInRegister = offset & (ApicOffsets.Stride - 1);
        if (size == MaxAccessSize || byteInRegister + (uint)size > RegisterWidth)
        {
            return AccessResult.Of(0);
        }
        var register = offset & ~(ApicOffsets.Stride - 1);
        if (!IsXApicRegister(register))
        {
            RecordError(ApicBits.EsrIllegalRegister, effects);
            return AccessResult.Of(0);
        }
        var value = ReadRegister(register, now) >> (int)(byteInRegister * 8);
        return AccessResult.Of(value & (uint)AllOnes(size));
    }

    /// <summary>
    /// Guest-physical MMIO write: only a 32-bit write at a 16-byte-aligned offset acts; narrower,
    /// misaligned and 64-bit writes are ignored. A reserved offset records ESR 0x80.
    /// </summary>
    public AccessResult WriteMmio(ulong address, int size, ulong value, long now, IApicEffects effects)
    {
        CheckSize(size);
        if (_runState != VcpuRunState.Running) return AccessResult.NotRunning;
        if (!TryPageOffset(address, out var offset) || size != RegisterWidth || (offset & (ApicOffsets.Stride - 1)) != 0)
        {
            return AccessResult.Done;
        }
        if (!IsXApicRegister(offset))
        {
            RecordError(ApicBits.EsrIllegalRegister, effects);
            return AccessResult.Done;
        }
        WriteXApicRegister(offset, (uint)value, now, effects);
        return AccessResult.Done;
    }

    private static void CheckSize(int size)
    {
        if (size is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "an MMIO access is 1, 2, 4 or 8 bytes");
        }
    }

    private static ulong AllOnes(int size) => size == MaxAccessSize ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    /// <summary>The offset inside the page when the address falls in it and the page answers (xAPIC mode).</summary>
    private bool TryPageOffset(ulong address, out uint offset)
    {
        offset = 0;
        var pageBase = _apicBase & ApicBits.BaseAddressMask;
        if (_mode != ApicMode.XApic || address < pageBase || address - pageBase >= ApicOffsets.PageSize)
        {
            return false;
        }
        offset = (uint)(address - pageBase);
        return true;
    }

    /// <summary>The registers of the xAPIC page (SDM Table 10-1); every other 16-byte slot is reserved.</summary>
    private static bool IsXApicRegister(uint offset) => offset switch
    {
        ApicOffsets.Id or ApicOffsets.Version or ApicOffsets.Tpr or ApicOffsets.Apr or ApicOffsets.Ppr
            or ApicOffsets.Eoi or ApicOffsets.Rrd or ApicOffsets.Ldr or ApicOffsets.Dfr or ApicOffsets.Svr => true,
        >= ApicOffsets.Isr0 and <= ApicOffsets.Esr => true,
        ApicOffsets.LvtCmci => true,
        >= ApicOffsets.IcrLow and <= ApicOffsets.TimerCurrentCount => true,
        ApicOffsets.TimerDivide => true,
        _ => false,
    };

    /// <summary>The value of a register as a 32-bit read sees it.</summary>
    private uint ReadRegister(uint offset, long now) => offset switch
    {
        ApicOffsets.Apr or ApicOffsets.Eoi or ApicOffsets.Rrd => 0,
        ApicOffsets.TimerCurrentCount => CurrentCount(now),
        _ => _page[offset],
    };

    private void WriteXApicRegister(uint offset, uint value, long now, IApicEffects effects)
    {
        switch (offset)
        {
            case ApicOffsets.Tpr:
                WriteTpr(value & ApicBits.TprMask, effects);
                break;
            case ApicOffsets.Eoi:
                ProcessEoi(effects);
                break;
            case ApicOffsets.Ldr:
                _page[ApicOffsets.Ldr] = value & ApicBits.XApicLdrMask;
                effects.RoutingChanged(Identity);
                break;
            case ApicOffsets.Dfr:
                _page[ApicOffsets.Dfr] = value | ApicBits.DfrAlwaysOnes;
                effects.RoutingChanged(Identity);
                break;
            case ApicOffsets.Svr:
                WriteSvr(value & ApicBits.SvrWritable, effects);
                break;
            case ApicOffsets.Esr:
                LatchErrors();
                break;
            case ApicOffsets.IcrLow:
                _page[ApicOffsets.IcrLow] = value & Icr.Writable & ~Icr.DeliveryStatus;
                SendIpi(value, _page[ApicOffsets.IcrHigh] >> Icr.XApicDestinationShift, effects);
                break;
            case ApicOffsets.IcrHigh:
                _page[ApicOffsets.IcrHigh] = value & Icr.XApicDestinationMask;
                break;
            case ApicOffsets.LvtTimer:
            case ApicOffsets.LvtThermal:
            case ApicOffsets.LvtPmc:
            case ApicOffsets.LvtLint0:
            case ApicOffsets.LvtLint1:
            case ApicOffsets.LvtError:
            case ApicOffsets.LvtCmci:
                WriteLvt(SourceOf(offset), value & WritableLvtBits(offset), now, effects);
                break;
            case ApicOffsets.TimerInitialCount:
                WriteInitialCount(value, now, effects);
                break;
            case ApicOffsets.TimerDivide:
                WriteDivide(value & ApicBits.DcrWritable, now, effects);
                break;
            default:
                // ID (read-only in this profile), LVR, APR, PPR, RRD, ISR, TMR, IRR, TMCCT: writes are ignored.
                break;
        }
    }

    // ---------------------------------------------------------------- MSRs

    /// <summary>RDMSR: IA32_APIC_BASE, IA32_TSC_DEADLINE and, in x2APIC mode, 0x800–0x8FF (SDM Table 10-6). Anything else #GP.</summary>
    public AccessResult ReadMsr(uint msr, long now, IApicEffects effects)
    {
        if (_runState != VcpuRunState.Running) return AccessResult.NotRunning;
        switch (msr)
        {
            case ApicMsrs.ApicBase:
                return AccessResult.Of(_apicBase);
            case ApicMsrs.TscDeadline:
                return AccessResult.Of(TimerMode == ApicBits.TimerModeTscDeadline ? _tscDeadline : 0);
            case >= ApicMsrs.X2ApicFirst and <= ApicMsrs.X2ApicLast when _mode == ApicMode.X2Apic:
                return ReadX2ApicMsr(msr, now);
            default:
                return AccessResult.Fault;
        }
    }

    /// <summary>WRMSR: as <see cref="ReadMsr"/>, with the reserved-bit #GP rules of profile decisions 2 and 3.</summary>
    public AccessResult WriteMsr(uint msr, ulong value, long now, IApicEffects effects)
    {
        if (_runState != VcpuRunState.Running) return AccessResult.NotRunning;
        switch (msr)
        {
            case ApicMsrs.ApicBase:
                return WriteApicBase(value, effects);
            case ApicMsrs.TscDeadline:
                WriteTscDeadline(value, now, effects);
                return AccessResult.Done;
            case >= ApicMsrs.X2ApicFirst and <= ApicMsrs.X2ApicLast when _mode == ApicMode.X2Apic:
                return WriteX2ApicMsr(msr, value, now, effects);
            default:
                return AccessResult.Fault;
        }
    }

    private AccessResult ReadX2ApicMsr(uint msr, long now)
    {
        var offset = ApicOffsets.FromMsr(msr);
        switch (offset)
        {
            case ApicOffsets.Id:
            case ApicOffsets.Version:
            case ApicOffsets.Tpr:
            case ApicOffsets.Ppr:
            case ApicOffsets.Ldr:
            case ApicOffsets.Svr:
            case >= ApicOffsets.Isr0 and <= ApicOffsets.Esr:
            case ApicOffsets.LvtCmci:
            case >= ApicOffsets.LvtTimer and <= ApicOffsets.TimerCurrentCount:
            case ApicOffsets.TimerDivide:
                return AccessResult.Of(ReadRegister(offset, now));
            case ApicOffsets.IcrLow:
                return AccessResult.Of(_page[ApicOffsets.IcrLow] | ((ulong)_page[ApicOffsets.IcrHigh] << 32));
            default:
                // APR, EOI, RRD, DFR, ICR2, SELF_IPI and the reserved MSRs.
                return AccessResult.Fault;
        }
    }

    private AccessResult WriteX2ApicMsr(uint msr, ulong value, long now, IApicEffects effects)
    {
        if (msr == ApicMsrs.X2ApicIcr)
        {
            var low = (uint)value;
            if ((low & Icr.X2ApicReserved) != 0) return AccessResult.Fault;
            var destination = (uint)(value >> 32);
            _page[ApicOffsets.IcrLow] = low & ~Icr.DeliveryStatus;
            _page[ApicOffsets.IcrHigh] = destination;
            SendIpi(low, destination, effects);
            return AccessResult.Done;
        }
        if ((value >> 32) != 0) return AccessResult.Fault;
        var data = (uint)value;
        var offset = ApicOffsets.FromMsr(msr);
        switch (offset)
        {
            case ApicOffsets.Tpr:
                if ((data & ~ApicBits.TprMask) != 0) return AccessResult.Fault;
                WriteTpr(data, effects);
                return AccessResult.Done;
            case ApicOffsets.Eoi:
                if (data != 0) return AccessResult.Fault;
                ProcessEoi(effects);
                return AccessResult.Done;
            case ApicOffsets.Svr:
                if ((data & ~ApicBits.SvrWritable) != 0) return AccessResult.Fault;
                WriteSvr(data, effects);
                return AccessResult.Done;
            case ApicOffsets.Esr:
                if (data != 0) return AccessResult.Fault;
                LatchErrors();
                return AccessResult.Done;
            case ApicOffsets.LvtCmci:
            case >= ApicOffsets.LvtTimer and <= ApicOffsets.LvtError:
                var writable = WritableLvtBits(offset);
                if ((data & ~(writable | ApicBits.LvtReadOnly)) != 0) return AccessResult.Fault;
                WriteLvt(SourceOf(offset), data & writable, now, effects);
                return AccessResult.Done;
            case ApicOffsets.TimerInitialCount:
                WriteInitialCount(data, now, effects);
                return AccessResult.Done;
            case ApicOffsets.TimerDivide:
                WriteDivide(data & ApicBits.DcrWritable, now, effects);
                return AccessResult.Done;
            case ApicOffsets.SelfIpi:
                if ((data & ~ApicBits.SelfIpiVectorMask) != 0) return AccessResult.Fault;
                SendSelfIpi((byte)data, effects);
                return AccessResult.Done;
            default:
                // Read-only (ID, LVR, PPR, LDR, ISR, TMR, IRR, TMCCT) and reserved MSRs.
                return AccessResult.Fault;
        }
    }

    private static LvtSource SourceOf(uint lvtOffset) => lvtOffset switch
    {
        ApicOffsets.LvtTimer => LvtSource.Timer,
        ApicOffsets.LvtThermal => LvtSource.Thermal,
        ApicOffsets.LvtPmc => LvtSource.PerformanceCounter,
        ApicOffsets.LvtLint0 => LvtSource.Lint0,
        ApicOffsets.LvtLint1 => LvtSource.Lint1,
        ApicOffsets.LvtError => LvtSource.Error,
        ApicOffsets.LvtCmci => LvtSource.Cmci,
        _ => throw new ArgumentOutOfRangeException(nameof(lvtOffset), lvtOffset, null),
    };

    private static uint WritableLvtBits(uint lvtOffset) => lvtOffset switch
    {
        ApicOffsets.LvtTimer => ApicBits.LvtTimerWritable,
        ApicOffsets.LvtLint0 or ApicOffsets.LvtLint1 => ApicBits.LvtLintWritable,
        ApicOffsets.LvtError => ApicBits.LvtErrorWritable,
        _ => ApicBits.LvtLocalWritable,
    };
}
