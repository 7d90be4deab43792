namespace VApicActors.Host.Simulation;

/// <summary>What one vCPU did during the default simulation.</summary>
/// <param name="Index">vCPU index.</param>
/// <param name="ApicId">Its initial APIC ID.</param>
/// <param name="Running">Its final run state is running (not waiting for SIPI).</param>
/// <param name="TakenByVector">Interrupts it acknowledged, by vector.</param>
/// <param name="TimerTicks">TSC-deadline ticks it took.</param>
/// <param name="IpisSent">Reschedule and call-function IPIs it sent.</param>
/// <param name="IpisReceived">Reschedule and call-function IPIs it took.</param>
public sealed record VcpuReport(
    int Index,
    uint ApicId,
    bool Running,
    IReadOnlyDictionary<int, int> TakenByVector,
    int TimerTicks,
    int IpisSent,
    int IpisReceived)
{
    public string RunState => Running ? "running" : "wait-for-sipi";
}
