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
/// that changed an identity, so any IPI caused after that answer sees the new routes. Per-sender order holds too:
/// the router counts, per vCPU, the messages of that vAPIC it has carried out (<see cref="CarriedOut"/>), and a vAPIC
/// delivers directly only once the router has carried out everything it told it, so an IPI never overtakes an
/// earlier one of the same sender still at the router, nor uses routes older than the sender's own identity change.
/// </remarks>
internal sealed class RouteSnapshot
{
    private volatile Routes? _current;
    private readonly long[] _carriedOut;

    public RouteSnapshot(int vcpuCount) => _carriedOut = new long[vcpuCount];

    /// <summary>The published routes, or null while the router has none current.</summary>
    public Routes? Current => _current;

    /// <summary>How many of vCPU <paramref name="index"/>'s identity changes and IPIs the router has carried out.</summary>
    public long CarriedOut(int index) => Volatile.Read(ref _carriedOut[index]);

    /// <summary>The router has carried out one more message of vCPU <paramref name="index"/> (after its deliveries are told).</summary>
    public void CarryOut(int index) => Volatile.Write(ref _carriedOut[index], _carriedOut[index] + 1);

    public void Publish(ApicRouteTable table, IActorRef[] apics) => _current = new Routes(table, apics);

    public void Withdraw() => _current = null;

    /// <summary>A route table and the vAPIC actor of each vCPU index.</summary>
    internal sealed record Routes(ApicRouteTable Table, IActorRef[] Apics);
}
