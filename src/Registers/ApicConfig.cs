namespace VApicActors.Registers;

/// <summary>How one local APIC is built.</summary>
/// <param name="Index">The vCPU's index in its VM.</param>
/// <param name="InitialApicId">The initial APIC ID (CPUID.0Bh:EDX); at most 0xFE for an xAPIC VM.</param>
/// <param name="IsBsp">The bootstrap processor: IA32_APIC_BASE bit 8, and INIT restarts it instead of waiting for SIPI.</param>
/// <param name="StartInX2Apic">Power on already in x2APIC mode, as firmware would leave it.</param>
/// <param name="StartRunning">False: the vCPU starts in wait-for-SIPI.</param>
/// <param name="TimerHz">APIC timer input clock before the divider.</param>
/// <param name="TscHz">Time-stamp counter frequency (IA32_TSC_DEADLINE, RDTSC).</param>
public sealed record ApicConfig(
    int Index,
    uint InitialApicId,
    bool IsBsp,
    bool StartInX2Apic = false,
    bool StartRunning = true,
    long TimerHz = ApicConfig.DefaultHz,
    long TscHz = ApicConfig.DefaultHz)
{
    public const long DefaultHz = 1_000_000_000;

    /// <summary>Throws for values no APIC can have (programmer errors, not guest input).</summary>
    public void Validate()
    {
        if (Index < 0) throw new ArgumentOutOfRangeException(nameof(Index), Index, "must be >= 0");
        if (TimerHz <= 0) throw new ArgumentOutOfRangeException(nameof(TimerHz), TimerHz, "must be > 0");
        if (TscHz <= 0) throw new ArgumentOutOfRangeException(nameof(TscHz), TscHz, "must be > 0");
        if (!StartInX2Apic && InitialApicId > 0xFE)
            throw new ArgumentOutOfRangeException(nameof(InitialApicId), InitialApicId, "an xAPIC ID is at most 0xFE");
        if (InitialApicId == ApicId.X2ApicBroadcast)
            throw new ArgumentOutOfRangeException(nameof(InitialApicId), InitialApicId, "0xFFFFFFFF is the broadcast ID");
    }
}
