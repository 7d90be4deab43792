using System.Collections.Immutable;
using Akka.Actor;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Actors;

/// <summary>
/// A guest core run by its vCPU's vAPIC actor (<see cref="ApicProtocol.HostCore"/>), as a vCPU thread runs its own
/// APIC's emulation: the same role as a core actor attached with <see cref="ApicProtocol.AttachCore"/>, without a
/// message between the core and its APIC. Every call comes on the vAPIC actor, one at a time, after the message being
/// handled is done; a hosted core must not block. Messages from other actors reach it as
/// <see cref="ApicProtocol.ToCore"/> told to its vAPIC actor.
/// </summary>
public interface IHostedCore
{
    /// <summary>The core is attached; <paramref name="context"/> is how it runs exits, valid from now on.</summary>
    void Attached(IHostedCoreContext context);

    /// <summary>A vector became deliverable: what an attached core actor hears as <see cref="ApicProtocol.InterruptPending"/>.</summary>
    void InterruptPending();

    /// <summary>
    /// The sequence the core ran last is done, every consequence in place: the results, as
    /// <see cref="ApicProtocol.ExitsCompleted"/> has them. They are valid only during the call (the vAPIC actor reuses
    /// their memory); a core that keeps them copies them.
    /// </summary>
    void ExitsCompleted(ReadOnlySpan<AccessResult> results);

    /// <summary>The message of a <see cref="ApicProtocol.ToCore"/>.</summary>
    void Receive(object message);
}

/// <summary>What a hosted core can do.</summary>
public interface IHostedCoreContext
{
    /// <summary>The vAPIC actor that runs the core: the sender of what the core tells, and where <see cref="ApicProtocol.ToCore"/> reaches it.</summary>
    IActorRef Apic { get; }

    /// <summary>
    /// Runs a sequence of exits exactly as <see cref="ApicProtocol.RunExits"/> told to the vAPIC actor (queued behind any
    /// sequence it is handling), once the current call returns; the results come to <see cref="IHostedCore.ExitsCompleted"/>.
    /// Of several calls within one call to the core, only the last is run; a sequence asked for while another is being
    /// handled runs after it. A sequence whose handling fails (a
    /// bug: the model never throws on guest input) is dropped without an answer; the failure goes to the VM's supervisor.
    /// </summary>
    void RunExits(ImmutableArray<ApicProtocol.Exit> exits);
}
