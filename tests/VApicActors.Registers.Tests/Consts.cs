namespace VApicActors.Registers.Tests;

/// <summary>Named register values and command words used by the tests (SDM Vol. 3A chapter 10).</summary>
internal static class Consts
{
    // IA32_APIC_BASE (SDM 10.4.4)
    public const ulong ApicBaseBsp = 1UL << 8;
    public const ulong ApicBaseExtd = 1UL << 10;
    public const ulong ApicBaseEnable = 1UL << 11;
    public const ulong DefaultBase = 0xFEE0_0000;
    public const ulong AlternateBase = 0xFED4_0000;
    public const ulong ApicBaseAddressMask = 0x0000_3FFF_FFFF_F000;
    public const ulong BspXApic = 0xFEE0_0900;
    public const ulong ApXApic = 0xFEE0_0800;
    public const ulong BspX2Apic = 0xFEE0_0D00;
    public const ulong ApX2Apic = 0xFEE0_0C00;
    public const ulong BspDisabled = 0xFEE0_0100;
    public const ulong ApDisabled = 0xFEE0_0000;
    public const int PhysicalAddressWidth = 46;

    // Version register (profile: seven LVTs, EOI-broadcast suppression)
    public const uint ApicVersion = 0x0106_0014;

    // SVR
    public const uint SvrReset = 0x0000_00FF;
    public const uint SvrEnabled = 0x0000_01FF;
    public const uint SvrEnabledSuppressEoi = 0x0000_11FF;
    public const uint SvrFocusDisable = 1u << 9;
    public const uint SvrWritable = 0x0000_13FF;

    public const uint DfrReset = 0xFFFF_FFFF;
    public const uint DfrCluster = 0x0FFF_FFFF;

    // LVT fields (SDM 10.5.1)
    public const uint LvtReset = 0x0001_0000;
    public const uint LvtMasked = 1u << 16;
    public const uint LvtDeliveryStatus = 1u << 12;
    public const uint LvtActiveLow = 1u << 13;
    public const uint LvtRemoteIrr = 1u << 14;
    public const uint LvtLevel = 1u << 15;
    public const uint LvtSmi = 0b010 << 8;
    public const uint LvtNmi = 0b100 << 8;
    public const uint LvtInit = 0b101 << 8;
    public const uint LvtExtInt = 0b111 << 8;
    public const uint TimerOneShot = 0b00 << 17;
    public const uint TimerPeriodic = 0b01 << 17;
    public const uint TimerTscDeadline = 0b10 << 17;
    public const uint TimerReservedMode = 0b11 << 17;

    // Architectural read-back of an LVT written with all ones (profile decision 1)
    public const uint LvtTimerMask = 0x0007_00FF;
    public const uint LvtLocalMask = 0x0001_07FF;
    public const uint LvtLintMask = 0x0001_A7FF;
    public const uint LvtErrorMask = 0x0001_00FF;

    // ICR (SDM 10.6.1)
    public const uint IcrLowWritable = 0x000C_CFFF;
    public const uint IcrDeliveryStatus = 1u << 12;
    public const uint IcrLogical = 1u << 11;
    public const uint IcrAssert = 1u << 14;
    public const uint IcrLevel = 1u << 15;
    public const uint IcrFixed = 0b000 << 8;
    public const uint IcrLowest = 0b001 << 8;
    public const uint IcrSmi = 0b010 << 8;
    public const uint IcrReserved3 = 0b011 << 8;
    public const uint IcrNmi = 0b100 << 8;
    public const uint IcrInit = 0b101 << 8;
    public const uint IcrStartUp = 0b110 << 8;
    public const uint IcrExtInt = 0b111 << 8;
    public const uint IcrSelf = 0b01 << 18;
    public const uint IcrAllIncludingSelf = 0b10 << 18;
    public const uint IcrAllExcludingSelf = 0b11 << 18;
    public const uint IcrHighDestinationShift = 24;
    /// <summary>x2APIC ICR bits that must be zero: 31:20, 17:16, 13.</summary>
    public const uint IcrX2ApicReserved = 0xFFF0_0000 | (0b11u << 16) | (1u << 13);

    // ESR (SDM 10.5.3)
    public const uint EsrSendIllegalVector = 0x20;
    public const uint EsrReceiveIllegalVector = 0x40;
    public const uint EsrIllegalRegister = 0x80;

    public const uint DcrWritable = 0xB;
    public const uint DcrDivideBy1 = 0xB;
    public const uint DcrDivideBy2 = 0x0;

    public const int FirstLegalVector = 16;
    public const int VectorCount = 256;

    /// <summary>The seven LVT offsets.</summary>
    public static readonly uint[] LvtOffsets =
    [
        ApicOffsets.LvtCmci, ApicOffsets.LvtTimer, ApicOffsets.LvtThermal, ApicOffsets.LvtPmc,
        ApicOffsets.LvtLint0, ApicOffsets.LvtLint1, ApicOffsets.LvtError,
    ];

    /// <summary>The PPR formula of SDM 10.8.3.1.</summary>
    public static byte ExpectedPpr(byte tpr, int isrv)
    {
        var isrClass = isrv < 0 ? 0 : isrv & 0xF0;
        return (tpr & 0xF0) >= isrClass ? tpr : (byte)isrClass;
    }
}
