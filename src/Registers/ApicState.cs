using System.Collections.Immutable;

namespace VApicActors.Registers;

/// <summary>
/// Everything one APIC (and the run state of its vCPU) holds, at one virtual time: the 4 KiB page plus
/// what lives outside it. Timer state is kept relative to that time, so a state saved at time T and
/// restored at time T' continues as if T' were T. Immutable; safe to pass between actors.
/// </summary>
/// <param name="Index">vCPU index.</param>
/// <param name="InitialApicId">The initial APIC ID (the restoring APIC must have the same).</param>
/// <param name="Page">The 4096 bytes of the register page.</param>
/// <param name="ApicBase">IA32_APIC_BASE.</param>
/// <param name="RunState">Running or waiting for SIPI.</param>
/// <param name="EsrPending">Errors collected since the last ESR write (not yet readable).</param>
/// <param name="Lint0">LINT0 pin level.</param>
/// <param name="Lint1">LINT1 pin level.</param>
/// <param name="TscDeadline">IA32_TSC_DEADLINE (0 when disarmed).</param>
/// <param name="TimerRunning">The APIC timer counts.</param>
/// <param name="TimerElapsedNs">Virtual ns since the timer's counting started (meaningful while it runs).</param>
/// <param name="TimerFirstTicks">Ticks from the start to the first expiry.</param>
/// <param name="TimerPeriodTicks">Ticks of one period.</param>
/// <param name="TimerExpiries">Expiries since the start.</param>
/// <param name="TimerDueInNs">Virtual ns until the next expiry, or -1 when none is armed.</param>
/// <param name="NmiCount">NMIs delivered so far.</param>
/// <param name="SmiCount">SMIs delivered so far.</param>
/// <param name="SipiVector">The last Start-up vector that started the vCPU, or -1.</param>
public sealed record ApicState(
    int Index,
    uint InitialApicId,
    ImmutableArray<byte> Page,
    ulong ApicBase,
    VcpuRunState RunState,
    uint EsrPending,
    bool Lint0,
    bool Lint1,
    ulong TscDeadline,
    bool TimerRunning,
    long TimerElapsedNs,
    ulong TimerFirstTicks,
    ulong TimerPeriodTicks,
    ulong TimerExpiries,
    long TimerDueInNs,
    int NmiCount,
    int SmiCount,
    int SipiVector);
