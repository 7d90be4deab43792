using VApicActors.Actors;

namespace VApicActors.Host.TraceTools;

/// <summary>Which APICs to replay, and how far.</summary>
/// <param name="Vm">Only this VM (by name); null for every VM in the trace.</param>
/// <param name="ApicId">Only the APIC with this initial APIC ID; null for all.</param>
/// <param name="UntilSeq">Stop after the event with this <c>Seq</c> (each APIC numbers its own events); null for the whole trace.</param>
/// <param name="AtNs">
/// The virtual time to take the state at (timer state is relative to it); null for the VM's last event time, or
/// with <paramref name="UntilSeq"/> the APIC's last replayed event. Earlier than the last replayed event counts as that event's time.
/// </param>
/// <param name="SavedState">
/// The state file a <c>Restored</c> event restored from: at that event each APIC takes its saved state, as the live
/// one did. Without it a replay through a restore goes on from the state before it (and says so).
/// </param>
public sealed record ReplayOptions(string? Vm = null, uint? ApicId = null, long? UntilSeq = null, long? AtNs = null, VmState? SavedState = null);
