using Akka.Actor;
using VApicActors.Registers;

namespace VApicActors.Actors.Protocol;

/// <summary>
/// The messages of a VM's interrupt router: device MSIs and exits addressed by APIC ID from outside, and,
/// between the router and the vAPIC actors, identities, interrupt requests, deliveries and
/// lowest-priority arbitration rounds.
/// </summary>
public static class RouterProtocol
{
    /// <summary>
    /// A device writes an MSI (address 0xFEExxxxx, data word). Answered with
    /// <see cref="ApicProtocol.AccessCompleted"/> (vCPU -1) once the interrupt sits at its destination.
    /// </summary>
    public sealed record RouteMsi(ulong Address, uint Data, long CorrelationId, IActorRef ReplyTo);

    /// <summary>
    /// An exit addressed by APIC ID: the router forwards <paramref name="Request"/> to the vAPIC whose
    /// current APIC ID is <paramref name="ApicId"/>; an unknown ID answers the request with a failure.
    /// </summary>
    public sealed record DispatchToApic(uint ApicId, ApicProtocol.IVcpuRequest Request);

    /// <summary>A reply someone else must send once the router has carried out what came with it.</summary>
    internal readonly record struct ReplyObligation(IActorRef To, object Message);

    /// <summary>A vAPIC has started: its actor and its power-on identity.</summary>
    internal sealed record ApicStarted(ApicRoutingIdentity Identity, IActorRef Apic);

    /// <summary>An APIC's ID, LDR, DFR, mode or software enable changed; then the reply, if any, is sent.</summary>
    internal sealed record IdentityChanged(ApicRoutingIdentity Identity, ReplyObligation? Then);

    /// <summary>An IPI from vCPU <paramref name="SourceIndex"/> to fan out; then the reply, if any, is sent.</summary>
    /// <param name="SentAt">The sender's latency stamp, or -1.</param>
    /// <param name="SourceSeq">The <c>Seq</c> of the sender's <c>IpiSent</c> trace event, or 0 when it traced none.</param>
    /// <param name="VirtualNs">The sender's virtual time when it sent the IPI.</param>
    internal sealed record RouteInterrupt(int SourceIndex, InterruptRequest Request, ReplyObligation? Then, long SentAt = -1, long SourceSeq = 0, long VirtualNs = -1);

    /// <summary>An interrupt message for one vAPIC. A non-zero <paramref name="AckRound"/> asks for <see cref="DeliveryApplied"/>.</summary>
    /// <param name="Vcpu">The target's index, or -1 when one message goes to several targets.</param>
    /// <param name="SourceApicId">The sending APIC's ID, or null for an MSI.</param>
    /// <param name="Arbitrated">A lowest-priority message this APIC won.</param>
    /// <param name="SentAt">The sender's latency stamp, or -1.</param>
    /// <param name="SourceSeq">The <c>Seq</c> of the sender's <c>IpiSent</c> trace event, or 0 (an MSI, or no trace).</param>
    /// <param name="VirtualNs">
    /// The virtual time the interrupt was sent at: the target takes it at that time (or its own, if later), not at
    /// a time the VM reached while the message waited in its mailbox (for an MSI, the VM's time when the router
    /// took it). -1: the VM's published time when the target takes it.
    /// </param>
    internal sealed record DeliverInterrupt(int Vcpu, InterruptMessage Message, uint? SourceApicId, long AckRound, bool Arbitrated = false, long SentAt = -1, long SourceSeq = 0, long VirtualNs = -1);

    /// <summary>The vAPIC has applied a delivery that asked for an acknowledgement (after reporting any new identity).</summary>
    internal sealed record DeliveryApplied(long Round, int Vcpu);

    /// <summary>Lowest-priority arbitration: a candidate is asked for its priority and focus for a vector now.</summary>
    internal sealed record BidRequest(int Vcpu, long Round, byte Vector);

    /// <summary>A candidate's answer to <see cref="BidRequest"/>.</summary>
    internal sealed record BidPlaced(long Round, LowestPriorityBid Bid);

    /// <summary>
    /// A save asks for the lowest-priority round robin's position: answered with <see cref="RoundRobinSaved"/> once any
    /// round in progress has ended.
    /// </summary>
    internal sealed record SaveRoundRobin(IActorRef ReplyTo);

    /// <summary>The APIC ID of the VM's previous lowest-priority winner, or null when none has won yet.</summary>
    internal sealed record RoundRobinSaved(uint? PreviousWinner);

    /// <summary>A restore sets the round robin's position: answered with <see cref="RoundRobinRestored"/>.</summary>
    internal sealed record RestoreRoundRobin(uint? PreviousWinner, IActorRef ReplyTo);

    /// <summary>The answer to <see cref="RestoreRoundRobin"/>.</summary>
    internal sealed record RoundRobinRestored
    {
        public static readonly RoundRobinRestored Instance = new();
    }
}
