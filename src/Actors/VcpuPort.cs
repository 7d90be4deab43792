using Akka.Actor;
using VApicActors.Actors.Protocol;

namespace VApicActors.Actors;

/// <summary>
/// The concurrent way to drive one vCPU: each call Tells the vAPIC actor one request and returns at once;
/// the answer (<see cref="ApicProtocol.AccessCompleted"/> echoing the correlation id) goes to
/// <c>replyTo</c>. Many ports can be driven at once with no barrier between them; requests through one
/// port are handled in the order they were sent.
/// </summary>
public readonly struct VcpuPort
{
    public VcpuPort(int vcpu, IActorRef apic)
    {
        Vcpu = vcpu;
        Apic = apic;
    }

    /// <summary>The vCPU's index.</summary>
    public int Vcpu { get; }

    /// <summary>The vCPU's APIC actor.</summary>
    public IActorRef Apic { get; }

    public void ReadMmio(ulong address, int size, long correlationId, IActorRef replyTo) =>
        Apic.Tell(new ApicProtocol.ReadMmio(Vcpu, address, size, correlationId, replyTo), replyTo);

    public void WriteMmio(ulong address, int size, ulong value, long correlationId, IActorRef replyTo) =>
        Apic.Tell(new ApicProtocol.WriteMmio(Vcpu, address, size, value, correlationId, replyTo), replyTo);

    public void ReadMsr(uint msr, long correlationId, IActorRef replyTo) =>
        Apic.Tell(new ApicProtocol.ReadMsr(Vcpu, msr, correlationId, replyTo), replyTo);

    public void WriteMsr(uint msr, ulong value, long correlationId, IActorRef replyTo) =>
        Apic.Tell(new ApicProtocol.WriteMsr(Vcpu, msr, value, correlationId, replyTo), replyTo);

    public void Acknowledge(long correlationId, IActorRef replyTo) =>
        Apic.Tell(new ApicProtocol.Acknowledge(Vcpu, correlationId, replyTo), replyTo);

    public void Eoi(long correlationId, IActorRef replyTo) =>
        Apic.Tell(new ApicProtocol.EndOfInterrupt(Vcpu, correlationId, replyTo), replyTo);
}
