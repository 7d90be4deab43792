using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>One APIC rebuilt from its trace events.</summary>
/// <param name="Vm">Its VM.</param>
/// <param name="ApicId">Its initial APIC ID.</param>
/// <param name="Config">The configuration it was built with (from its <c>ApicCreated</c> event, or guessed: see <paramref name="Notes"/>).</param>
/// <param name="Inputs">Recorded inputs fed to it.</param>
/// <param name="LastSeq">The <c>Seq</c> of the last event taken.</param>
/// <param name="NowNs">The virtual time the state is taken at: the VM's last event time, or with a Seq limit the APIC's last replayed event.</param>
/// <param name="Mismatches">Recorded reads, acknowledges and delivery outcomes the replay did not reproduce.</param>
/// <param name="State">Its complete state (the 4 KiB page and what lives outside it).</param>
/// <param name="Snapshot">Its registers, decoded.</param>
/// <param name="KvmLapicState">The 1 KiB <c>KVM_GET_LAPIC</c> view.</param>
/// <param name="Notes">What the replay assumed or could not do.</param>
public sealed record ReplayedApic(
    string Vm,
    uint ApicId,
    ApicConfig Config,
    int Inputs,
    long LastSeq,
    long NowNs,
    int Mismatches,
    ApicState State,
    ApicSnapshot Snapshot,
    byte[] KvmLapicState,
    IReadOnlyList<string> Notes);
