using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace VApicActors.Host.Cluster;

/// <summary>
/// The shard region of the stress VMs (<see cref="StressVmEntity"/>), started beside the VM region by
/// <see cref="VmShards.StartAsync"/>: hosting them on nodes with the <c>vm</c> role, a proxy on the others. A run's VM
/// number picks its shard and every new shard goes to the node with the fewest, so a run's VMs spread evenly over
/// the nodes; shards are never rebalanced, so a running stress VM is never moved.
/// </summary>
public static class StressShards
{
    internal static async Task<IActorRef> StartRegionAsync(ActorSystem system, ClusterSettings settings)
    {
        var sharding = ClusterSharding.Get(system);
        var extractor = new StressVmMessageExtractor(settings.ShardCount);
        if (!settings.HostsVms)
        {
            return await sharding.StartProxyAsync(StressVmEntity.TypeName, ClusterSettings.VmRole, extractor).ConfigureAwait(false);
        }
        // A stress VM lives for one run and keeps nothing: its shards do not remember it (unlike a VM's).
        var shardingSettings = ClusterShardingSettings.Create(system).WithRole(ClusterSettings.VmRole).WithRememberEntities(false);
        return await sharding.StartAsync(
            StressVmEntity.TypeName,
            StressVmEntity.Props,
            shardingSettings,
            extractor,
            new FewestShardsAllocation(),
            PoisonPill.Instance).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until at least <paramref name="nodes"/> nodes host stress VMs (their regions have registered); returns
    /// them as HOST:PORT. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<IReadOnlyList<string>> WaitForNodesAsync(this VmShards shards, int nodes, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<string> seen = [];
        while (true)
        {
            try
            {
                var current = await shards.StressRegion.Ask<CurrentRegions>(GetCurrentRegions.Instance, TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
                seen = [.. current.Regions.Select(a => a.Host + ":" + a.Port?.ToString(CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal)];
                if (seen.Count >= nodes)
                {
                    return seen;
                }
            }
            catch (AskTimeoutException)
            {
                // No coordinator yet: ask again.
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{seen.Count} of {nodes} node(s) host stress VMs after {timeout.TotalSeconds:0.#} s" +
                    (seen.Count > 0 ? " (" + string.Join(", ", seen) + ")" : "") + "; a node hosts them when it has the role \"vm\"");
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The VM's number in its run picks the shard.</summary>
    private sealed class StressVmMessageExtractor : IMessageExtractor
    {
        private readonly int _shards;

        public StressVmMessageExtractor(int shards) => _shards = shards;

        public string? EntityId(object message) => message is StressVmRun m ? m.Vm : null;

        public object? EntityMessage(object message) => message;

        public string? ShardId(object message) => message is StressVmRun m ? ShardOf(m.Index) : null;

        public string ShardId(string entityId, object? messageHint = null)
        {
            if (messageHint is StressVmRun m)
            {
                return ShardOf(m.Index);
            }
            var dash = entityId.LastIndexOf('-');
            return dash >= 0 && int.TryParse(entityId.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                ? ShardOf(index)
                : ShardOf(StringComparer.Ordinal.GetHashCode(entityId) & int.MaxValue);
        }

        private string ShardOf(int index) => (index % _shards).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A new shard goes to the region with the fewest shards (ties: by address); nothing is ever rebalanced.</summary>
    private sealed class FewestShardsAllocation : IShardAllocationStrategy
    {
        public Task<IActorRef> AllocateShard(IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
        {
            var region = currentShardAllocations
                .OrderBy(a => a.Value.Count)
                .ThenBy(a => a.Key.Path.ToStringWithAddress(), StringComparer.Ordinal)
                .Select(a => a.Key)
                .FirstOrDefault() ?? requester;
            return Task.FromResult(region);
        }

        public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations, IImmutableSet<string> rebalanceInProgress) =>
            Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);
    }
}
