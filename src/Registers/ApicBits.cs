namespace VApicActors.Registers;

/// <summary>Register bit fields and architectural masks (Intel SDM Vol. 3A chapter 10; profile in apic-reference.md).</summary>
internal static class ApicBits
{
    /// <summary>LVR: version 0x14, Max LVT Entry 6 (seven LVTs with CMCI), bit 24 EOI-broadcast suppression (SDM 10.4.8).</summary>
    public const uint Version = 0x0106_0014;

    public const uint VectorMask = 0xFF;
    public const uint PriorityClassMask = 0xF0;

    // IA32_APIC_BASE (SDM 10.4.4, 10.12.5)
    public const ulong BaseBsp = 1UL << 8;
    public const ulong BaseExtd = 1UL << 10;
    public const ulong BaseEnable = 1UL << 11;
    public const ulong BaseDefaultAddress = 0xFEE0_0000;
    /// <summary>Bits 12 up to the physical-address width (46 bits) hold the page address.</summary>
    public const ulong BaseAddressMask = 0x0000_3FFF_FFFF_F000;
    /// <summary>Bits 0–7, 9 and 46–63 are reserved.</summary>
    public const ulong BaseReserved = ~(BaseAddressMask | BaseEnable | BaseExtd | BaseBsp);

    // SVR (SDM 10.9)
    public const uint SvrReset = 0xFF;
    public const uint SvrEnable = 1u << 8;
    public const uint SvrFocusDisable = 1u << 9;
    public const uint SvrSuppressEoiBroadcast = 1u << 12;
    public const uint SvrWritable = 0x13FF;

    // DFR, LDR (SDM 10.6.2.2)
    public const uint DfrReset = 0xFFFF_FFFF;
    public const uint DfrAlwaysOnes = 0x0FFF_FFFF;
    public const uint XApicLdrMask = 0xFF00_0000;
    public const uint XApicIdShift = 24;

    // LVT (SDM 10.5.1, Fig. 10-8)
    public const uint LvtReset = 0x0001_0000;
    public const uint LvtMasked = 1u << 16;
    public const uint LvtDeliveryStatus = 1u << 12;
    public const uint LvtActiveLow = 1u << 13;
    public const uint LvtRemoteIrr = 1u << 14;
    public const uint LvtLevelTriggered = 1u << 15;
    public const int LvtDeliveryModeShift = 8;
    public const uint LvtDeliveryModeMask = 0x7;
    public const int TimerModeShift = 17;
    public const uint TimerModeMask = 0x3;
    public const uint TimerModeOneShot = 0;
    public const uint TimerModePeriodic = 1;
    public const uint TimerModeTscDeadline = 2;

    /// <summary>Writable bits of each LVT (read-only bits 12 and 14 excluded).</summary>
    public const uint LvtTimerWritable = 0x0007_00FF;
    public const uint LvtLocalWritable = 0x0001_07FF;   // thermal, PMC, CMCI
    public const uint LvtLintWritable = 0x0001_A7FF;    // LINT0, LINT1
    public const uint LvtErrorWritable = 0x0001_00FF;
    /// <summary>Read-only LVT bits: a WRMSR may set them without #GP; they are ignored.</summary>
    public const uint LvtReadOnly = LvtDeliveryStatus | LvtRemoteIrr;

    // ESR (SDM 10.5.3)
    public const uint EsrSendIllegalVector = 0x20;
    public const uint EsrReceiveIllegalVector = 0x40;
    public const uint EsrIllegalRegister = 0x80;
    /// <summary>Every error bit this profile records (decision 4); ESR holds no other.</summary>
    public const uint EsrRecorded = EsrSendIllegalVector | EsrReceiveIllegalVector | EsrIllegalRegister;

    // Timer divide (SDM 10.5.4, Fig. 10-10)
    public const uint DcrWritable = 0xB;

    /// <summary>Vectors 0–15 are reserved for exceptions and are illegal as interrupt vectors.</summary>
    public const int FirstLegalVector = 16;

    public const uint TprMask = 0xFF;
    public const uint SelfIpiVectorMask = 0xFF;
}
