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

    /// <summary>The answer to a guest access or core action.</summary>
    public sealed record AccessCompleted(int Vcpu, long CorrelationId, AccessResult Result);

    /// <summary>The answer to <see cref="GetPending"/>: a vector, or -1 for none.</summary>
    public sealed record PendingVector(int Vcpu, long CorrelationId, int Vector);

    /// <summary>The answer to <see cref="GetSnapshot"/>.</summary>
    public sealed record SnapshotTaken(int Vcpu, long CorrelationId, ApicSnapshot Snapshot);

    /// <summary>A fault for tests of supervision: the handler throws, as a bug in it would.</summary>
    internal sealed record InjectFault(int Vcpu, string Reason) : IVcpuMessage;
}
