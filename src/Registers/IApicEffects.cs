namespace VApicActors.Registers;

/// <summary>
/// The consequences of an APIC operation that leave the APIC. The register model never sends,
/// logs or schedules anything itself; it reports here, and its owner carries the effect out.
/// </summary>
public interface IApicEffects
{
    /// <summary>An IPI to route: a valid ICR or SELF IPI write, already checked and decoded.</summary>
    void SendInterrupt(in InterruptRequest request);

    /// <summary>An EOI message for the I/O APICs: a level-triggered vector was EOI'd with SVR bit 12 clear.</summary>
    void BroadcastEoi(byte vector);

    /// <summary>The timer (APIC timer or TSC deadline) will next expire at this virtual time; replaces any earlier arm.</summary>
    void ArmTimer(long dueNs);

    /// <summary>The timer no longer has an expiry pending.</summary>
    void CancelTimer();

    /// <summary>A vector became the one the APIC presents to its core (the vCPU should be kicked).</summary>
    void InterruptDeliverable(byte vector);

    /// <summary>ID, LDR, DFR, mode or software enable changed: routing tables must be updated.</summary>
    void RoutingChanged(in ApicRoutingIdentity identity);

    /// <summary>A local source (LVT) fired: what happened to its interrupt.</summary>
    void LocalInterrupt(LvtSource source, byte vector, AcceptOutcome outcome);
}

/// <summary>Effects that go nowhere unless a subclass takes them: a base for callers that want only some of them.</summary>
public abstract class ApicEffectsBase : IApicEffects
{
    public virtual void SendInterrupt(in InterruptRequest request) { }
    public virtual void BroadcastEoi(byte vector) { }
    public virtual void ArmTimer(long dueNs) { }
    public virtual void CancelTimer() { }
    public virtual void InterruptDeliverable(byte vector) { }
    public virtual void RoutingChanged(in ApicRoutingIdentity identity) { }
    public virtual void LocalInterrupt(LvtSource source, byte vector, AcceptOutcome outcome) { }
}

/// <summary>Effects that go nowhere: for callers that only want the register semantics.</summary>
public sealed class NullApicEffects : ApicEffectsBase
{
    public static readonly NullApicEffects Instance = new();
}
