namespace VApicActors.Registers;

/// <summary>
/// Offsets of the local APIC registers inside the 4 KiB xAPIC page (Intel SDM Vol. 3A, Table 10-1).
/// The x2APIC MSR of a register is <c>0x800 + (offset &gt;&gt; 4)</c> (SDM 10.12.1.2).
/// </summary>
public static class ApicOffsets
{
    /// <summary>Size of the register page in bytes.</summary>
    public const int PageSize = 0x1000;

    public const uint Id = 0x020;
    public const uint Version = 0x030;
    public const uint Tpr = 0x080;
    public const uint Apr = 0x090;
    public const uint Ppr = 0x0A0;
    public const uint Eoi = 0x0B0;
    public const uint Rrd = 0x0C0;
    public const uint Ldr = 0x0D0;
    public const uint Dfr = 0x0E0;
    public const uint Svr = 0x0F0;
    /// <summary>First of the eight ISR words (vectors 0–31); the others follow every 0x10.</summary>
    public const uint Isr0 = 0x100;
    /// <summary>First of the eight TMR words.</summary>
    public const uint Tmr0 = 0x180;
    /// <summary>First of the eight IRR words.</summary>
    public const uint Irr0 = 0x200;
    public const uint Esr = 0x280;
    public const uint LvtCmci = 0x2F0;
    public const uint IcrLow = 0x300;
    public const uint IcrHigh = 0x310;
    public const uint LvtTimer = 0x320;
    public const uint LvtThermal = 0x330;
    public const uint LvtPmc = 0x340;
    public const uint LvtLint0 = 0x350;
    public const uint LvtLint1 = 0x360;
    public const uint LvtError = 0x370;
    public const uint TimerInitialCount = 0x380;
    public const uint TimerCurrentCount = 0x390;
    public const uint TimerDivide = 0x3E0;
    /// <summary>SELF IPI exists only as x2APIC MSR 0x83F; in the xAPIC page this offset is reserved.</summary>
    public const uint SelfIpi = 0x3F0;

    /// <summary>Distance between two registers (and between the words of IRR, ISR and TMR).</summary>
    public const uint Stride = 0x10;

    /// <summary>The register offset an x2APIC MSR addresses.</summary>
    public static uint FromMsr(uint msr) => (msr - ApicMsrs.X2ApicFirst) << 4;

    /// <summary>The LVT register of a local interrupt source.</summary>
    public static uint OfLvt(LvtSource source) => source switch
    {
        LvtSource.Timer => LvtTimer,
        LvtSource.Thermal => LvtThermal,
        LvtSource.PerformanceCounter => LvtPmc,
        LvtSource.Lint0 => LvtLint0,
        LvtSource.Lint1 => LvtLint1,
        LvtSource.Error => LvtError,
        LvtSource.Cmci => LvtCmci,
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, null),
    };

    /// <summary>The x2APIC MSR of a register offset.</summary>
    public static uint ToMsr(uint offset) => ApicMsrs.X2ApicFirst + (offset >> 4);

    /// <summary>A short register name for traces (<c>ICR</c>, <c>IRR3</c>, <c>LVTT</c>, …), or the hex offset.</summary>
    public static string Name(uint offset) => offset switch
    {
        Id => "ID",
        Version => "LVR",
        Tpr => "TPR",
        Apr => "APR",
        Ppr => "PPR",
        Eoi => "EOI",
        Rrd => "RRD",
        Ldr => "LDR",
        Dfr => "DFR",
        Svr => "SVR",
        >= Isr0 and < Tmr0 when offset % Stride == 0 => "ISR" + ((offset - Isr0) >> 4),
        >= Tmr0 and < Irr0 when offset % Stride == 0 => "TMR" + ((offset - Tmr0) >> 4),
        >= Irr0 and < Esr when offset % Stride == 0 => "IRR" + ((offset - Irr0) >> 4),
        Esr => "ESR",
        LvtCmci => "LVTCMCI",
        IcrLow => "ICR",
        IcrHigh => "ICR2",
        LvtTimer => "LVTT",
        LvtThermal => "LVTTHMR",
        LvtPmc => "LVTPC",
        LvtLint0 => "LVT0",
        LvtLint1 => "LVT1",
        LvtError => "LVTERR",
        TimerInitialCount => "TMICT",
        TimerCurrentCount => "TMCCT",
        TimerDivide => "TDCR",
        SelfIpi => "SELF_IPI",
        _ => "0x" + offset.ToString("X3"),
    };
}

/// <summary>Model-specific registers the local APIC answers (SDM 10.4.4, 10.5.4.1, 10.12.1.2).</summary>
public static class ApicMsrs
{
    public const uint ApicBase = 0x1B;
    public const uint TscDeadline = 0x6E0;
    public const uint X2ApicFirst = 0x800;
    public const uint X2ApicLast = 0x8FF;
    public const uint X2ApicIcr = 0x830;
    public const uint X2ApicEoi = 0x80B;
    public const uint X2ApicSelfIpi = 0x83F;
}
