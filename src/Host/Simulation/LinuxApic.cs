namespace VApicActors.Host.Simulation;

/// <summary>
/// The register values a Linux guest uses for its local APIC (arch/x86/include/asm/apicdef.h and
/// irq_vectors.h), named so the bring-up reads like the kernel code it imitates.
/// </summary>
internal static class LinuxApic
{
    /// <summary>Default xAPIC page address (IA32_APIC_BASE bits 51:12 at reset).</summary>
    public const ulong DefaultBase = 0xFEE0_0000;

    /// <summary>IA32_APIC_BASE bit 8: this processor is the BSP.</summary>
    public const ulong ApicBaseBsp = 0x100;
    /// <summary>IA32_APIC_BASE bit 10 (EXTD): x2APIC mode (X2APIC_ENABLE).</summary>
    public const ulong ApicBaseX2ApicEnable = 0x400;
    /// <summary>The highest APIC ID an xAPIC can hold (0xFF is the broadcast address); firmware hands a machine with a
    /// higher ID over in x2APIC mode.</summary>
    public const uint MaxXApicId = 0xFE;

    public const int SpuriousVector = 0xFF;
    public const uint ErrorVector = 0xFE;
    public const int LocalTimerVector = 0xEC;
    public const int RescheduleVector = 0xFD;
    public const int CallFunctionVector = 0xFC;
    public const int CallFunctionSingleVector = 0xFB;
    public const int IrqWorkVector = 0xF6;

    /// <summary>SVR bit 8: APIC software enable.</summary>
    public const uint SvrSoftwareEnable = 0x100;
    public const uint SvrVectorMask = 0xFF;
    public const uint LvtMasked = 0x1_0000;
    public const uint DeliveryExtInt = 0x700;
    public const uint DeliveryNmi = 0x400;
    public const uint DeliveryInit = 0x500;
    public const uint DeliveryStartup = 0x600;
    public const uint TriggerLevel = 0x8000;
    public const uint LevelAssert = 0x4000;
    /// <summary>ICR destination shorthand (bits 19:18) "self".</summary>
    public const uint ShorthandSelf = 0x4_0000;
    /// <summary>ICR destination shorthand (bits 19:18) "all excluding self".</summary>
    public const uint ShorthandAllButSelf = 0xC_0000;
    /// <summary>ICR bit 11: logical destination mode.</summary>
    public const uint DestinationLogical = 0x800;
    /// <summary>ICR bit 12: delivery status (send pending).</summary>
    public const uint IcrBusy = 0x1000;
    /// <summary>LVT timer mode TSC-deadline (bits 18:17 = 10b).</summary>
    public const uint TimerTscDeadline = 0x4_0000;
    /// <summary>DFR flat model.</summary>
    public const uint DfrFlat = 0xFFFF_FFFF;
    /// <summary>LDR bits 23:0 (kept when the logical ID is written).</summary>
    public const uint LdrLowMask = 0x00FF_FFFF;
    public const int LdrShift = 24;
    /// <summary>The xAPIC destination field in ICR high (bits 31:24).</summary>
    public const int IcrHighDestinationShift = 24;
    /// <summary>The x2APIC destination field of the 64-bit ICR (bits 63:32).</summary>
    public const int X2ApicDestinationShift = 32;
    public const uint TprMask = 0xFF;
    /// <summary>The task priority setup_local_APIC leaves in TPR.</summary>
    public const uint BootTaskPriority = 0x10;
    /// <summary>The ESR bits that abort an AP start-up ("APIC delivery error"); bit 4 is ignored.</summary>
    public const uint EsrAcceptMask = 0xEF;
    /// <summary>The flat logical model addresses at most eight CPUs; more use physical destinations.</summary>
    public const int MaxFlatCpus = 8;
    /// <summary>LVR bits 23:16: the index of the highest LVT entry.</summary>
    public const int MaxLvtShift = 16;
    public const uint MaxLvtMask = 0xFF;
    /// <summary>Linux writes ESR before reading it only when maxlvt is above this (Pentium erratum 3AP).</summary>
    public const uint EsrPreWriteMinMaxLvt = 3;
    /// <summary>apic_pending_intr_clear gives up after this many rounds.</summary>
    public const int PendingClearRounds = 512;
    /// <summary>Real-mode trampoline page 0x9A000, as a Start-up IPI vector.</summary>
    public const int TrampolineVector = 0x9A;
    /// <summary>udelay(10) around each Start-up IPI.</summary>
    public const long StartupDelayNs = 10_000;
    /// <summary>TSC_DIVISOR: the TSC-deadline clockevent counts in units of 8 TSC cycles.</summary>
    public const ulong TscDivisor = 8;
    /// <summary>The TSC-deadline clockevent's minimum delta, in its own units.</summary>
    public const ulong TscDeadlineMinDelta = 0xF;
    public const int VectorsPerRegister = 32;
    public const int VectorRegisters = 8;
    public const int PollLimit = 1000;
}
