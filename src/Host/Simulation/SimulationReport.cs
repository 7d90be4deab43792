using VApicActors.Host.Configuration;

namespace VApicActors.Host.Simulation;

/// <summary>The outcome of the default simulation.</summary>
/// <param name="VmName">The VM's name (trace property <c>Vm</c>).</param>
/// <param name="Settings">What was simulated.</param>
/// <param name="BringUpEndNs">Virtual time when every vCPU had set up its APIC.</param>
/// <param name="EndNs">Virtual time at the end of the workload.</param>
/// <param name="Vcpus">Per-vCPU counts, in vCPU order.</param>
public sealed record SimulationReport(
    string VmName,
    SimulationSettings Settings,
    long BringUpEndNs,
    long EndNs,
    IReadOnlyList<VcpuReport> Vcpus)
{
    public bool AllRunning => Vcpus.All(v => v.Running);
}
