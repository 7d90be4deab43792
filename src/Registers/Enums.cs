namespace VApicActors.Registers;

/// <summary>ICR, LVT and MSI delivery mode, bits 10:8 (SDM 10.6.1, 10.5.1).</summary>
public enum DeliveryMode : byte
{
    Fixed = 0,
    LowestPriority = 1,
    Smi = 2,
    Reserved3 = 3,
    Nmi = 4,
    Init = 5,
    StartUp = 6,
    ExtInt = 7,
}

/// <summary>ICR destination shorthand, bits 19:18 (SDM 10.6.1).</summary>
public enum DestinationShorthand : byte
{
    None = 0,
    Self = 1,
    AllIncludingSelf = 2,
    AllExcludingSelf = 3,
}

/// <summary>Trigger mode of an interrupt message.</summary>
public enum TriggerMode : byte
{
    Edge = 0,
    Level = 1,
}

/// <summary>The APIC's mode as IA32_APIC_BASE EN and EXTD select it (SDM 10.12.5).</summary>
public enum ApicMode : byte
{
    /// <summary>EN = 0: hardware-disabled.</summary>
    Disabled = 0,
    /// <summary>EN = 1, EXTD = 0: xAPIC, registers in the MMIO page.</summary>
    XApic = 1,
    /// <summary>EN = 1, EXTD = 1: x2APIC, registers as MSRs 0x800–0x8FF.</summary>
    X2Apic = 2,
}

/// <summary>The run state of the vCPU beside the APIC.</summary>
public enum VcpuRunState : byte
{
    Running = 0,
    /// <summary>An application processor after INIT, until a Start-up IPI arrives.</summary>
    WaitForSipi = 1,
}

/// <summary>The local interrupt sources that have an LVT entry (SDM 10.5.1).</summary>
public enum LvtSource : byte
{
    Timer = 0,
    Thermal = 1,
    PerformanceCounter = 2,
    Lint0 = 3,
    Lint1 = 4,
    Error = 5,
    Cmci = 6,
}

/// <summary>What became of one interrupt message at the receiving APIC.</summary>
public enum AcceptOutcome : byte
{
    /// <summary>The IRR bit was clear and is now set.</summary>
    Accepted,
    /// <summary>The IRR bit was already set: the message merged into it.</summary>
    Coalesced,
    NmiDelivered,
    SmiDelivered,
    /// <summary>INIT reset the APIC (and put an AP into wait-for-SIPI).</summary>
    InitReset,
    /// <summary>A Start-up IPI started a vCPU that was waiting for it.</summary>
    Started,
    /// <summary>IA32_APIC_BASE.EN = 0: the APIC receives no message.</summary>
    DroppedHardwareDisabled,
    /// <summary>SVR bit 8 clear: fixed and lowest-priority messages are discarded.</summary>
    DroppedSoftwareDisabled,
    /// <summary>Vector 0–15: ESR bit 6 (receive illegal vector) recorded instead.</summary>
    DroppedIllegalVector,
    /// <summary>An NMI or SMI that reached a vCPU waiting for SIPI.</summary>
    DroppedNotRunning,
    /// <summary>A Start-up IPI to a vCPU that was not waiting for one.</summary>
    DroppedNotWaitingForSipi,
    /// <summary>INIT level de-assert, a level-triggered MSI de-assert, or a delivery mode that carries nothing (ExtINT, reserved).</summary>
    DroppedNoEffect,
    /// <summary>The LVT that would deliver it is masked.</summary>
    DroppedMasked,
}

/// <summary>Outcome of a guest access or of a core action (acknowledge, EOI).</summary>
public enum AccessStatus : byte
{
    Ok = 0,
    /// <summary>The access raises #GP(0); nothing changed.</summary>
    GeneralProtection = 1,
    /// <summary>The vCPU waits for SIPI: the action had no effect.</summary>
    NotRunning = 2,
    /// <summary>Acknowledge found nothing deliverable.</summary>
    None = 3,
}
