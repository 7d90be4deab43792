using System.Collections.Immutable;
using VApicActors.Registers;

namespace VApicActors.Actors;

/// <summary>
/// A VM's saved APIC state: the VM it was taken from, its virtual time, the EOI broadcasts not yet taken, and
/// each vCPU's complete APIC state (the page and what lives outside it, timers relative to that time).
/// Immutable. Restoring it into a VM of the same shape continues exactly where the saved VM was.
/// </summary>
/// <param name="Spec">The VM it was taken from.</param>
/// <param name="VirtualTimeNs">The VM's virtual time when it was taken.</param>
/// <param name="PendingEoiBroadcasts">EOI-broadcast vectors sent but not yet taken, in order.</param>
/// <param name="Apics">Each vCPU's APIC state, by vCPU index.</param>
/// <param name="LowestPriorityPreviousWinner">
/// The APIC ID of the VM's previous lowest-priority winner, after which the round robin among tied candidates goes on
/// (profile decision 6), or null when none has won yet (the round robin starts at the lowest ID).
/// </param>
public sealed record VmState(
    VmSpec Spec, long VirtualTimeNs, ImmutableArray<byte> PendingEoiBroadcasts, ImmutableArray<ApicState> Apics, uint? LowestPriorityPreviousWinner = null)
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> unless this state can be restored into a VM created from
    /// <paramref name="target"/>: the same vCPUs with the same initial APIC IDs, the same clocks, and one APIC
    /// state per vCPU in index order.
    /// </summary>
    public void CheckRestorableInto(VmSpec target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (VirtualTimeNs < 0)
        {
            throw new ArgumentException("the saved virtual time is negative: " + VirtualTimeNs, nameof(VirtualTimeNs));
        }
        if (target.VcpuCount != Apics.Length)
        {
            throw new ArgumentException("the state has " + Apics.Length + " APICs, the VM " + target.VcpuCount + " vCPUs", nameof(target));
        }
        if (target.TimerHz != Spec.TimerHz || target.TscHz != Spec.TscHz)
        {
            throw new ArgumentException(
                "the state was taken with timer-hz " + Spec.TimerHz + " and tsc-hz " + Spec.TscHz + ", the VM has " + target.TimerHz + " and " + target.TscHz,
                nameof(target));
        }
        for (var index = 0; index < Apics.Length; index++)
        {
            var apic = Apics[index];
            var id = VmSpecs.ApicConfigOf(target, index).InitialApicId;
            if (apic.Index != index || apic.InitialApicId != id)
            {
                throw new ArgumentException(
                    "APIC state " + index + " is vCPU " + apic.Index + " with APIC ID 0x" + apic.InitialApicId.ToString("X") +
                    "; the VM's vCPU " + index + " has APIC ID 0x" + id.ToString("X"),
                    nameof(target));
            }
            if (apic.Page.Length != ApicOffsets.PageSize)
            {
                throw new ArgumentException("APIC state " + index + " has a page of " + apic.Page.Length + " bytes, not " + ApicOffsets.PageSize, nameof(target));
            }
        }
    }
}
