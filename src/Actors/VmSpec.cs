using VApicActors.Registers;

namespace VApicActors.Actors;

/// <summary>A VM to create: its vCPUs, their APIC IDs and mode, who runs at start, and its clocks.</summary>
/// <param name="Name">The VM's name (trace property <c>Vm</c>).</param>
/// <param name="VcpuCount">Number of vCPUs (1 to at least 4096).</param>
/// <param name="X2Apic">Every APIC starts in x2APIC mode.</param>
/// <param name="ApicIds">Initial APIC ID of each vCPU, distinct; null gives 0..N-1.</param>
/// <param name="BootAll">True: every vCPU runs; false: only vCPU 0, the others wait for SIPI.</param>
/// <param name="TimerHz">APIC timer input clock.</param>
/// <param name="TscHz">TSC frequency.</param>
public sealed record VmSpec(
    string Name,
    int VcpuCount,
    bool X2Apic = false,
    IReadOnlyList<uint>? ApicIds = null,
    bool BootAll = true,
    long TimerHz = ApicConfig.DefaultHz,
    long TscHz = ApicConfig.DefaultHz)
{
    /// <summary>vCPU <paramref name="index"/>'s initial APIC ID (its index when the spec gives none).</summary>
    public uint InitialApicId(int index) => ApicIds is { } ids && index >= 0 && index < ids.Count ? ids[index] : (uint)index;
}
