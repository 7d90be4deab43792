using Akka.Actor;
using VApicActors.Actors.Protocol;

namespace VApicActors.Host.Stress;

/// <summary>The protocol message for one guest access, and who takes it.</summary>
internal static class GuestMessages
{
    public static object Build(in GuestAccess a, int vcpu, long id, IActorRef replyTo) => a.Kind switch
    {
        AccessKind.Read when a.Msr => new ApicProtocol.ReadMsr(vcpu, (uint)a.Address, id, replyTo),
        AccessKind.Read => new ApicProtocol.ReadMmio(vcpu, a.Address, 4, id, replyTo),
        AccessKind.Write when a.Msr => new ApicProtocol.WriteMsr(vcpu, (uint)a.Address, a.Value, id, replyTo),
        AccessKind.Write => new ApicProtocol.WriteMmio(vcpu, a.Address, 4, a.Value, id, replyTo),
        AccessKind.Acknowledge => new ApicProtocol.Acknowledge(vcpu, id, replyTo),
        AccessKind.Eoi => new ApicProtocol.EndOfInterrupt(vcpu, id, replyTo),
        AccessKind.ReadTsc => new ApicProtocol.ReadTsc(vcpu, id, replyTo),
        AccessKind.LoseNextFixedIpi => new ApicProtocol.LoseFixedIpis(vcpu, 1, id, replyTo),
        _ => new RouterProtocol.RouteMsi(a.Address, (uint)a.Value, id, replyTo),
    };

    /// <summary>Device MSIs go to the VM's router; everything else to the vCPU's APIC.</summary>
    public static IActorRef Target(in GuestAccess a, IActorRef apic, IActorRef router) => a.Kind == AccessKind.Msi ? router : apic;
}
