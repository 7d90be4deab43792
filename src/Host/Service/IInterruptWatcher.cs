namespace VApicActors.Host.Service;

/// <summary>
/// Receives the interrupts that become deliverable at the vCPUs it watches. Called from an actor: an
/// implementation must be thread-safe and must not block.
/// </summary>
public interface IInterruptWatcher
{
    /// <summary><paramref name="vector"/> became the vector vCPU <paramref name="vcpu"/>'s APIC presents to its core.</summary>
    void OnInterrupt(int vcpu, int vector);

    /// <summary>A line the session did not ask for other than an interrupt (<c>LOST ...</c> in cluster mode).</summary>
    void OnNotice(string line);
}
