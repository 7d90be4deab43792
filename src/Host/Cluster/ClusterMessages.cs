using Akka.Actor;
using VApicActors.Actors;

namespace VApicActors.Host.Cluster;

/// <summary>A message that may cross the network between nodes; <see cref="ClusterMessageSerializer"/> writes it.</summary>
public interface IClusterMessage;

/// <summary>A message for one VM entity, routed by the VM's name to the node that hosts it.</summary>
public interface IVmMessage : IClusterMessage
{
    string Vm { get; }
}

/// <summary>Creates the VM <paramref name="Vm"/> (refused when it exists) and attaches <paramref name="Session"/> to it.</summary>
public sealed record CreateVm(string Vm, VmSpec Spec, bool Keep, IActorRef Session) : IVmMessage;

/// <summary>Attaches <paramref name="Session"/> to the existing VM <paramref name="Vm"/>.</summary>
public sealed record AttachVm(string Vm, IActorRef Session) : IVmMessage;

/// <summary>The session no longer drives the VM; the last one out ends it unless it is kept.</summary>
public sealed record DetachVm(string Vm, IActorRef Session) : IVmMessage;

/// <summary>Runs one scenario-language line on the VM as vCPU <paramref name="Cpu"/> of the session.</summary>
public sealed record RunLine(string Vm, IActorRef Session, int Cpu, string Line) : IVmMessage;

/// <summary>
/// Interrupt lines for the session: for every vCPU when <paramref name="All"/>, else for <paramref name="Vcpus"/>
/// (none: the session stops watching).
/// </summary>
public sealed record WatchVm(string Vm, IActorRef Session, bool All, int[] Vcpus) : IVmMessage;

/// <summary>The VM saves a snapshot now (also done on a timer and when it moves).</summary>
public sealed record SnapshotVm(string Vm) : IVmMessage;

/// <summary>Asks the VM for its complete state now; answered with <see cref="VmStateTaken"/>.</summary>
public sealed record GetVmState(string Vm) : IVmMessage;

/// <summary>A VM's complete state (packed by <see cref="VmStatePacking"/>) and the node it was taken on.</summary>
public sealed record VmStateTaken(string Vm, string Node, byte[] State) : IClusterMessage;

/// <summary>
/// The VM's answer to create/attach/watch/detach: it exists with <paramref name="Vcpus"/> vCPUs on <paramref name="Node"/>;
/// <paramref name="FirstApicId"/> is vCPU 0's initial APIC ID (the one a session selects on joining).
/// </summary>
public sealed record VmReady(string Vm, int Vcpus, string Node, uint FirstApicId = 0) : IClusterMessage;

/// <summary>A refused create/attach/line: <paramref name="Reason"/> is what the session answers after <c>ERR</c>.</summary>
public sealed record VmRefused(string Vm, string Reason) : IClusterMessage;

/// <summary>The answer line to a <see cref="RunLine"/>, and the session's vCPU after it with its initial APIC ID.</summary>
public sealed record LineDone(string Answer, int Cpu, uint ApicId = 0) : IClusterMessage;

/// <summary>A snapshot was saved at virtual time <paramref name="VirtualTimeNs"/>.</summary>
public sealed record SnapshotSaved(string Vm, long VirtualTimeNs, int Bytes) : IClusterMessage;

/// <summary>To a session: a line it did not ask for (<c>IRQ raise ...</c>, <c>LOST ...</c>).</summary>
public sealed record SessionLine(string Line) : IClusterMessage;

/// <summary>Sent by its shard to a VM entity when the shard moves: the VM saves its state, then stops.</summary>
public sealed record HandOffVm : IClusterMessage
{
    public static readonly HandOffVm Instance = new();
}

/// <summary>
/// The persisted state of a VM entity: whether it outlives its sessions, the sessions attached (actor paths),
/// whether it was taken on a move (nothing lost) or on the timer, and the VM state in the save/restore format,
/// compressed.
/// </summary>
public sealed record VmSnapshot(bool Keep, bool Handoff, string[] Sessions, long TakenAtUnixMs, byte[] State) : IClusterMessage;

/// <summary>Journal event written just before each snapshot, so that each snapshot has its own sequence number.</summary>
public sealed record VmCheckpoint(long VirtualTimeNs) : IClusterMessage;

/// <summary>
/// Journal event: a session (its actor path) joined the VM or left it. Replayed after the VM's last snapshot, so that a
/// VM restored after a crash has the sessions it had when it was lost, not those of its snapshot.
/// </summary>
public sealed record VmSessionChanged(string Session, bool Joined) : IClusterMessage;

/// <summary>
/// Runs one stress VM on the node its entity lives on (so its IPIs stay there): <paramref name="Vm"/>, a name unique to
/// the run, keys the entity; <paramref name="Index"/> is the VM's number in the run (it picks the shard, so that a run's
/// VMs spread evenly); <paramref name="Settings"/> is the VM's settings as JSON (<see cref="StressVmSpec"/>).
/// Answered with <see cref="StressVmDone"/>.
/// </summary>
public sealed record StressVmRun(string Vm, int Index, string Settings) : IVmMessage;

/// <summary>
/// A stress VM's result from <paramref name="Node"/> (HOST:PORT): its report with its latency histograms as JSON
/// (<see cref="StressVmReport"/>), or — when it could not run — an empty report and <paramref name="Error"/>.
/// </summary>
public sealed record StressVmDone(string Vm, string Node, string ReportJson, string? Error) : IClusterMessage;
