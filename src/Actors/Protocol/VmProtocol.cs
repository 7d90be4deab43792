using System.Collections.Immutable;
using Akka.Actor;

namespace VApicActors.Actors.Protocol;

/// <summary>
/// The messages of a VM actor: its virtual clock, the EOI messages its APICs sent toward the I/O APICs,
/// and its topology; and, between the VM and the vAPIC actors, timer arming and expiry.
/// </summary>
public static class VmProtocol
{
    /// <summary>Advances virtual time by <paramref name="Nanoseconds"/>, or to the next timer expiry when null. Answered with <see cref="ClockTime"/>.</summary>
    public sealed record StepClock(long? Nanoseconds);

    /// <summary>Advances virtual time to <paramref name="Nanoseconds"/>; a time in the past changes nothing. Answered with <see cref="ClockTime"/>.</summary>
    public sealed record SetClock(long Nanoseconds);

    /// <summary>Asks for the current virtual time. Answered with <see cref="ClockTime"/>.</summary>
    public sealed record GetClock
    {
        public static readonly GetClock Instance = new();

        private GetClock()
        {
        }
    }

    /// <summary>The VM's virtual time in nanoseconds.</summary>
    public sealed record ClockTime(long Nanoseconds);

    /// <summary>Takes the EOI-broadcast vectors collected since the last take. Answered with <see cref="EoiBroadcasts"/>.</summary>
    public sealed record TakeEoiBroadcasts
    {
        public static readonly TakeEoiBroadcasts Instance = new();

        private TakeEoiBroadcasts()
        {
        }
    }

    /// <summary>EOI messages toward the I/O APICs, in the order they were sent.</summary>
    public sealed record EoiBroadcasts(ImmutableArray<byte> Vectors);

    /// <summary>Asks for the VM's actors, once every APIC has started. Answered with <see cref="VmTopology"/> (or a failure).</summary>
    public sealed record GetTopology
    {
        public static readonly GetTopology Instance = new();

        private GetTopology()
        {
        }
    }

    /// <summary>The VM's vAPIC actors by vCPU index, and its router.</summary>
    public sealed record VmTopology(string Name, ImmutableArray<IActorRef> Apics, IActorRef Router);

    /// <summary>Takes every vCPU's APIC state at the current virtual time. Answered with <see cref="VmStateSaved"/>.</summary>
    public sealed record SaveVm
    {
        public static readonly SaveVm Instance = new();

        private SaveVm()
        {
        }
    }

    /// <summary>The answer to <see cref="SaveVm"/>.</summary>
    public sealed record VmStateSaved(VmState State);

    /// <summary>
    /// Sets the virtual time and the pending EOI broadcasts from <paramref name="State"/> and restores every vAPIC
    /// (routing and timers follow). Answered with <see cref="VmRestored"/>, or a failure when the state does not fit the VM.
    /// </summary>
    public sealed record RestoreVm(VmState State);

    /// <summary>The answer to <see cref="RestoreVm"/>: every vAPIC is restored, routable, and its timer armed.</summary>
    public sealed record VmRestored
    {
        public static readonly VmRestored Instance = new();

        private VmRestored()
        {
        }
    }

    /// <summary>Every vAPIC has reported its identity to the router: routing can start.</summary>
    internal sealed record RoutesReady
    {
        public static readonly RoutesReady Instance = new();

        private RoutesReady()
        {
        }
    }

    /// <summary>A vAPIC's timer will next expire at <paramref name="DueNs"/> (replaces any earlier arm).</summary>
    internal sealed record TimerArmed(int Vcpu, long DueNs);

    /// <summary>A vAPIC's timer has no expiry pending.</summary>
    internal sealed record TimerCancelled(int Vcpu);

    /// <summary>A vAPIC sent an EOI message toward the I/O APICs, having handled <paramref name="Restores"/> restores of its state.</summary>
    internal sealed record EoiBroadcast(int Vcpu, byte Vector, int Restores);

    /// <summary>
    /// The vAPIC processes each of its timer expiries due at or before <paramref name="LimitNs"/>, each at its own
    /// time, then answers <see cref="TimersExpired"/>.
    /// </summary>
    internal sealed record ExpireTimers(int Vcpu, long LimitNs);

    /// <summary>The answer to <see cref="ExpireTimers"/>: the vAPIC's next expiry, if any.</summary>
    internal sealed record TimersExpired(int Vcpu, long? NextDueNs);
}
