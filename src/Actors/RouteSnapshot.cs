using Akka.Actor;
using VApicActors.Registers;

namespace VApicActors.Actors;

/// <summary>
/// The route table a VM's router publishes for its vAPICs, so that they deliver fixed IPIs to their targets
/// themselves instead of through the router. Immutable once published; the router replaces it (or withdraws
/// it while an identity change is not yet folded in) and a vAPIC that finds none sends through the router.
/// </summary>
/// <remarks>
/// Sequential observation holds: the router withdraws or replaces the table before it answers the request
/// that changed an identity, so any IPI caused after that answer sees the new routes.
/// </remarks>
internal sealed class RouteSnapshot
{
    private volatile Routes? _current;

    /// <summary>The published routes, or null while the router has none current.</summary>
    public Routes? Current => _current;

    public void Publish(ApicRouteTable table, IActorRef[] apics) => _current = new Routes(table, apics);

    public void Withdraw() => _current = null;

    /// <summary>A route table and the vAPIC actor of each vCPU index.</summary>
    internal sealed record Routes(ApicRouteTable Table, IActorRef[] Apics);
}
