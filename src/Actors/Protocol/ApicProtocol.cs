using System.Collections.Immutable;
using Akka.Actor;
using VApicActors.Registers;

namespace VApicActors.Actors.Protocol;

/// <summary>
/// The messages a vCPU's APIC actor answers: the guest's accesses and core actions (requests that carry a
/// correlation id and the actor to answer), the pins, and observations. Concurrent drivers Tell these
/// straight to the vAPIC actor (see <see cref="VcpuPort"/>); every request is answered exactly once.
/// </summary>
public static class ApicProtocol
{
    /// <summary>A message for one vCPU's APIC, named by the vCPU's index.</summary>
    public interface IVcpuMessage
    {
        int Vcpu { get; }
    }

    /// <summary>A request that is answered: to <see cref="ReplyTo"/>, echoing <see cref="CorrelationId"/>.</summary>
    public interface IVcpuRequest : IVcpuMessage
    {
        long CorrelationId { get; }

        IActorRef ReplyTo { get; }
    }

    /// <summary>Guest MMIO read of 1, 2, 4 or 8 bytes at a guest-physical address. Answered with <see cref="AccessCompleted"/>.</summary>
    public sealed record ReadMmio(int Vcpu, ulong Address, int Size, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>Guest MMIO write of 1, 2, 4 or 8 bytes. Answered with <see cref="AccessCompleted"/> once every consequence is in place.</summary>
    public sealed record WriteMmio(int Vcpu, ulong Address, int Size, ulong Value, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>RDMSR. Answered with <see cref="AccessCompleted"/> (the value, or #GP).</summary>
    public sealed record ReadMsr(int Vcpu, uint Msr, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>WRMSR. Answered with <see cref="AccessCompleted"/> once every consequence is in place.</summary>
    public sealed record WriteMsr(int Vcpu, uint Msr, ulong Value, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>The core takes its next interrupt (INTA): IRR to ISR. Answered with the vector, or status None.</summary>
    public sealed record Acknowledge(int Vcpu, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>End of interrupt, as the guest signals it in its current mode. Answered with <see cref="AccessCompleted"/>.</summary>
    public sealed record EndOfInterrupt(int Vcpu, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>RDTSC. Answered with <see cref="AccessCompleted"/> carrying the TSC.</summary>
    public sealed record ReadTsc(int Vcpu, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>Drives LINT0 (pin 0) or LINT1 (pin 1) to a level. Answered with <see cref="AccessCompleted"/>.</summary>
    public sealed record SetLint(int Vcpu, int Pin, bool Level, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>
    /// A local source (thermal sensor, performance counter, CMCI, …) raises its interrupt through its LVT.
    /// Answered with <see cref="AccessCompleted"/>.
    /// </summary>
    public sealed record RaiseLocal(int Vcpu, LvtSource Source, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>The vector the APIC would present to its core now. Answered with <see cref="PendingVector"/>.</summary>
    public sealed record GetPending(int Vcpu, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>An immutable view of the APIC. Answered with <see cref="SnapshotTaken"/>.</summary>
    public sealed record GetSnapshot(int Vcpu, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>What one exit of a <see cref="RunExits"/> sequence is.</summary>
    public enum ExitKind
    {
        ReadMsr,
        WriteMsr,
        ReadMmio,
        WriteMmio,
        Acknowledge,
        EndOfInterrupt,
    }

    /// <summary>
    /// One exit of a <see cref="RunExits"/> sequence: the same access as the request of the same name. A write whose
    /// <paramref name="ValueFrom"/> is 0 or more writes the value that the earlier exit at that position of the same
    /// sequence returned instead of <paramref name="Value"/> (a guest's read-modify-write between two VM entries).
    /// </summary>
    public readonly record struct Exit(ExitKind Kind, uint Msr = 0, ulong Address = 0, int Size = 0, ulong Value = 0, int ValueFrom = -1)
    {
        public static Exit ReadMsrOf(uint msr) => new(ExitKind.ReadMsr, msr);

        public static Exit WriteMsrOf(uint msr, ulong value) => new(ExitKind.WriteMsr, msr, Value: value);

        /// <summary>WRMSR of the value exit <paramref name="step"/> of the same sequence returned.</summary>
        public static Exit WriteMsrFrom(uint msr, int step) => new(ExitKind.WriteMsr, msr, ValueFrom: step);

        public static Exit ReadMmioOf(ulong address, int size) => new(ExitKind.ReadMmio, Address: address, Size: size);

        public static Exit WriteMmioOf(ulong address, int size, ulong value) => new(ExitKind.WriteMmio, Address: address, Size: size, Value: value);

        public static Exit AcknowledgeOne => new(ExitKind.Acknowledge);

        public static Exit EndOfInterruptOne => new(ExitKind.EndOfInterrupt);
    }

    /// <summary>
    /// A vCPU's run between two VM entries: its exits, handled one at a time in order, each exactly as the request of
    /// the same kind (the same model call, trace events, counters and effects, every consequence in place before the
    /// next exit is handled), and answered once with <see cref="ExitsCompleted"/>. The sequence stops after the first
    /// exit whose result is not Ok (a #GP, a vCPU not running, an acknowledge that found nothing). Sequences from one
    /// sender are handled in the order sent; other messages may be handled between two exits of a sequence, as they
    /// may between two requests.
    /// </summary>
    public sealed record RunExits(int Vcpu, ImmutableArray<Exit> Exits, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>The answer to <see cref="RunExits"/>: the result of each exit handled, in order.</summary>
    public sealed record ExitsCompleted(int Vcpu, long CorrelationId, ImmutableArray<AccessResult> Results);

    /// <summary>
    /// Runs <paramref name="Core"/> inside this vAPIC actor (null detaches it): it is told of deliverable vectors and runs
    /// its exits without messages between the two (see <see cref="IHostedCore"/>). Answered with <see cref="AccessCompleted"/>.
    /// </summary>
    public sealed record HostCore(int Vcpu, IHostedCore? Core, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>A message for the core hosted by this vCPU's vAPIC actor (dropped when none is).</summary>
    public sealed record ToCore(int Vcpu, object Message) : IVcpuMessage;

    /// <summary>The answer to a guest access or core action.</summary>
    public sealed record AccessCompleted(int Vcpu, long CorrelationId, AccessResult Result);

    /// <summary>The answer to <see cref="GetPending"/>: a vector, or -1 for none.</summary>
    public sealed record PendingVector(int Vcpu, long CorrelationId, int Vector);

    /// <summary>The answer to <see cref="GetSnapshot"/>.</summary>
    public sealed record SnapshotTaken(int Vcpu, long CorrelationId, ApicSnapshot Snapshot);

    /// <summary>
    /// Attaches the guest core beside this APIC: whenever a vector becomes deliverable the APIC tells
    /// <paramref name="Core"/> an <see cref="InterruptPending"/> (null detaches). With a <paramref name="Latency"/>
    /// clock the APIC stamps the IPIs it sends and measures the latency of those it receives.
    /// Answered with <see cref="AccessCompleted"/>.
    /// </summary>
    public sealed record AttachCore(int Vcpu, IActorRef? Core, LatencyClock Latency, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>The kick to an attached core: a vector became deliverable; acknowledge to take it.</summary>
    public sealed record InterruptPending(int Vcpu);

    /// <summary>
    /// Adds <paramref name="Subscriber"/> to the actors this APIC tells <see cref="InterruptDeliverable"/> (or, when
    /// <paramref name="Subscribe"/> is false, removes it). Any number may subscribe, beside an attached core; a
    /// subscriber that stops is removed. Answered with <see cref="AccessCompleted"/>.
    /// </summary>
    public sealed record SubscribeInterrupts(int Vcpu, IActorRef Subscriber, bool Subscribe, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>
    /// To the subscribers of <see cref="SubscribeInterrupts"/>: <paramref name="Vector"/> became the vector this APIC
    /// presents to its core (after the message that made it so; sent before that message is answered).
    /// </summary>
    public sealed record InterruptDeliverable(int Vcpu, byte Vector);

    /// <summary>Reads the APIC's counters. Answered with <see cref="CountersRead"/>.</summary>
    public sealed record GetCounters(int Vcpu, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>The answer to <see cref="GetCounters"/>.</summary>
    public sealed record CountersRead(int Vcpu, long CorrelationId, ApicCounters Counters);

    /// <summary>
    /// Fault injection, to prove that checkers notice: the next <paramref name="Count"/> fixed IPIs this APIC sends
    /// are traced and counted as sent but reach no destination. Answered with <see cref="AccessCompleted"/>.
    /// </summary>
    public sealed record LoseFixedIpis(int Vcpu, int Count, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>Takes the APIC's complete state at the VM's time <paramref name="NowNs"/>. Answered with <see cref="StateSaved"/>.</summary>
    internal sealed record SaveState(int Vcpu, long NowNs, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>The answer to <see cref="SaveState"/>.</summary>
    internal sealed record StateSaved(int Vcpu, long CorrelationId, ApicState State);

    /// <summary>
    /// Replaces the APIC's state with <paramref name="State"/> at the VM's time <paramref name="NowNs"/>. Answered with
    /// <see cref="AccessCompleted"/> once the new routing identity and timer are in place.
    /// </summary>
    internal sealed record RestoreState(int Vcpu, ApicState State, long NowNs, long CorrelationId, IActorRef ReplyTo) : IVcpuRequest;

    /// <summary>A fault for tests of supervision: the handler throws, as a bug in it would.</summary>
    internal sealed record InjectFault(int Vcpu, string Reason) : IVcpuMessage;
}
