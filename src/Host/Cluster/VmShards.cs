using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using VApicActors.Actors;

namespace VApicActors.Host.Cluster;

/// <summary>
/// This node's part of the cluster's VMs: the shard region of the VM entities (hosting them when the node has the
/// <c>vm</c> role, a proxy to them when not), and requests to any VM by name wherever it lives.
/// </summary>
public sealed class VmShards
{
    private readonly ActorSystem _system;

    private VmShards(ActorSystem system, ClusterSettings settings, IActorRef region, IActorRef stressRegion, HostedVms hosted)
    {
        _hosted = hosted;
        _system = system;
        Settings = settings;
        Region = region;
        StressRegion = stressRegion;
    }

    public ClusterSettings Settings { get; }

    /// <summary>The VMs (and their vCPUs) this node hosts now.</summary>
    public (int Vms, int Vcpus) Hosted => _hosted.Count;

    /// <summary>
    /// Applies the service's <c>max-vcpus</c> and <c>max-named-vms</c> to the VMs created on this node from now on
    /// (VMs moving here or restarting here are never refused).
    /// </summary>
    public void Limit(int maxVcpus, int maxNamedVms) => _hosted.Limit(maxVcpus, maxNamedVms);

    /// <summary>
    /// Whether <paramref name="vm"/> is the name of a session's own VM: those names hold a '.', which a name given with
    /// <c>vm name=</c> cannot, so no session can attach to another's own VM or take its name.
    /// </summary>
    public static bool IsPrivateName(string vm) => vm.Contains('.', StringComparison.Ordinal);

    private readonly HostedVms _hosted;

    /// <summary>The shard region: a message implementing <see cref="IVmMessage"/> sent here reaches its VM.</summary>
    public IActorRef Region { get; }

    /// <summary>The shard region of the stress VMs: a <see cref="StressVmRun"/> sent here runs on the node that hosts its shard.</summary>
    public IActorRef StressRegion { get; }

    public Akka.Cluster.Cluster Cluster => Akka.Cluster.Cluster.Get(_system);

    /// <summary>
    /// Starts the VM shard region and the stress VMs' region (<see cref="StressShards"/>) on <paramref name="system"/>
    /// (a cluster node) and waits until this node is a
    /// member that is up. Throws <see cref="TimeoutException"/> when it has not joined within <c>join-timeout</c>.
    /// </summary>
    public static async Task<VmShards> StartAsync(ActorSystem system, ClusterSettings settings, ITraceSink? trace, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(settings);
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        var sharding = ClusterSharding.Get(system);
        var extractor = new VmMessageExtractor(settings.ShardCount);
        var hosted = new HostedVms();
        IActorRef region;
        if (settings.HostsVms)
        {
            var shardingSettings = ClusterShardingSettings.Create(system).WithRole(ClusterSettings.VmRole);
            region = await sharding.StartAsync(
                VmEntity.TypeName,
                name => VmEntity.Props(name, settings, trace, hosted),
                shardingSettings,
                extractor,
                sharding.DefaultShardAllocationStrategy(shardingSettings),
                HandOffVm.Instance).ConfigureAwait(false);
        }
        else
        {
            region = await sharding.StartProxyAsync(VmEntity.TypeName, ClusterSettings.VmRole, extractor).ConfigureAwait(false);
        }
        var stressRegion = await StressShards.StartRegionAsync(system, settings).ConfigureAwait(false);
        try
        {
            await up.Task.WaitAsync(settings.JoinTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(
                $"this node ({cluster.SelfAddress}) did not join the cluster within {settings.JoinTimeout.TotalSeconds:0.#} s; " +
                $"seed nodes: {string.Join(", ", settings.SeedNodes)} (is the first seed node running?)");
        }
        var shards = new VmShards(system, settings, region, stressRegion, hosted);
        system.ActorOf(Props.Create(() => new MemberLossListener(shards)), "vm-member-loss");
        return shards;
    }

    /// <summary>
    /// Sends <paramref name="message"/> to its VM and waits for the answer (up to <c>request-timeout</c>). A message
    /// sent to a node just as it crashed is lost with it; when no answer came and a member left or became unreachable
    /// meanwhile, the message is sent again (at most <see cref="MaxAttempts"/> times in all), to wherever the VM
    /// restarts. A VM that restarts from a snapshot tells its sessions what was lost (<c>LOST</c>).
    /// </summary>
    public async Task<object> AskAsync(IVmMessage message)
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = Environment.TickCount64;
            try
            {
                return await Region.Ask<object>(message, Settings.RequestTimeout).ConfigureAwait(false);
            }
            catch (AskTimeoutException) when (attempt < MaxAttempts && LostMemberSince(started - (long)Settings.RequestTimeout.TotalMilliseconds))
            {
                // A node was lost about when the message went out: try again where the VM lives now.
            }
            catch (AskTimeoutException e)
            {
                throw new VmDidNotAnswerException(message.Vm, e.Message);
            }
        }
    }

    /// <summary>Attempts of one request when members are lost meanwhile.</summary>
    public const int MaxAttempts = 3;

    private long _lastMemberLoss = long.MinValue;

    private bool LostMemberSince(long tick) => Volatile.Read(ref _lastMemberLoss) >= tick;

    /// <summary>Notes when a member becomes unreachable or is removed.</summary>
    private sealed class MemberLossListener : ReceiveActor
    {
        public MemberLossListener(VmShards shards)
        {
            Receive<ClusterEvent.UnreachableMember>(_ => Volatile.Write(ref shards._lastMemberLoss, Environment.TickCount64));
            Receive<ClusterEvent.MemberRemoved>(_ => Volatile.Write(ref shards._lastMemberLoss, Environment.TickCount64));
            Receive<ClusterEvent.CurrentClusterState>(_ => { });
        }

        protected override void PreStart() =>
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
                typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));

        protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
    }

    /// <summary>
    /// The cluster as one line of <c>key=value</c> words: members and their state, and per node the shards and VMs it
    /// hosts (<c>shards=HOST:PORT:N,...</c>, <c>vms=HOST:PORT:N,...</c>).
    /// </summary>
    public async Task<ClusterView> ViewAsync()
    {
        var stats = await Region.Ask<ClusterShardingStats>(new GetClusterShardingStats(Settings.RequestTimeout), Settings.RequestTimeout + TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        var state = Cluster.State;
        var members = state.Members
            .OrderBy(m => m.Address.Port)
            .Select(m => new ClusterMemberView(Endpoint(m.Address), m.Status.ToString().ToLowerInvariant(), [.. m.Roles.Order(StringComparer.Ordinal)],
                state.Unreachable.Contains(m), m.Address == Cluster.SelfAddress))
            .ToArray();
        var nodes = stats.Regions
            .OrderBy(r => r.Key.Port)
            .Select(r => new ClusterNodeView(Endpoint(r.Key), r.Value.Stats.Count, r.Value.Stats.Values.Sum()))
            .ToArray();
        return new ClusterView(Endpoint(Cluster.SelfAddress), members, nodes);
    }

    /// <summary>The node (HOST:PORT) whose region holds the shard of VM <paramref name="vm"/> now, or null when no node has it.</summary>
    public async Task<string?> LocateAsync(string vm)
    {
        var shard = new VmMessageExtractor(Settings.ShardCount).ShardId(vm, new SnapshotVm(vm));
        var stats = await Region.Ask<ClusterShardingStats>(new GetClusterShardingStats(Settings.RequestTimeout), Settings.RequestTimeout + TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        foreach (var (address, region) in stats.Regions)
        {
            if (region.Stats.ContainsKey(shard))
            {
                return Endpoint(address);
            }
        }
        return null;
    }

    private static string Endpoint(Address address) => address.Host + ":" + address.Port?.ToString(CultureInfo.InvariantCulture);

    private sealed class VmMessageExtractor : HashCodeMessageExtractor
    {
        public VmMessageExtractor(int shards)
            : base(shards)
        {
        }

        public override string? EntityId(object message) => message is IVmMessage m ? m.Vm : null;
    }
}

/// <summary>A member of the cluster: its address, status, roles, whether it is unreachable, and whether it is this node.</summary>
public sealed record ClusterMemberView(string Node, string Status, string[] Roles, bool Unreachable, bool Self);

/// <summary>A node hosting VMs: how many shards and VMs it has now.</summary>
public sealed record ClusterNodeView(string Node, int Shards, int Vms);

/// <summary>What the <c>cluster</c> request and command show.</summary>
public sealed record ClusterView(string Self, ClusterMemberView[] Members, ClusterNodeView[] Nodes)
{
    /// <summary>The one-line form of the service's answer (after <c>OK </c>).</summary>
    public string ToLine()
    {
        var text = new StringBuilder();
        text.Append("self=").Append(Self);
        text.Append(" members=").Append(Members.Length);
        text.Append(" up=").Append(Members.Count(m => m.Status == "up" && !m.Unreachable));
        text.Append(" unreachable=").Append(Members.Count(m => m.Unreachable));
        text.Append(" nodes=").Append(string.Join(',', Members.Select(m => m.Node + ":" + (m.Unreachable ? "unreachable" : m.Status))));
        text.Append(" shards=").Append(Nodes.Length == 0 ? "none" : string.Join(',', Nodes.Select(n => n.Node + ":" + n.Shards)));
        text.Append(" vms=").Append(Nodes.Length == 0 ? "none" : string.Join(',', Nodes.Select(n => n.Node + ":" + n.Vms)));
        return text.ToString();
    }
}

/// <summary>
/// The VMs a node hosts now and their vCPUs, kept by the VM entities, and the service's limits on them
/// (<c>max-vcpus</c>, <c>max-named-vms</c>) once a service runs on the node. A limit refuses only the creation of a
/// VM: a VM that moves here or restarts here from its snapshot is always taken, so that no VM is lost. Thread-safe.
/// </summary>
internal sealed class HostedVms
{
    private readonly object _lock = new();
    private int _vms;
    private int _vcpus;
    private int _named;
    private (int MaxVcpus, int MaxNamedVms)? _limits;

    /// <summary>VMs and vCPUs, read together.</summary>
    public (int Vms, int Vcpus) Count
    {
        get
        {
            lock (_lock)
            {
                return (_vms, _vcpus);
            }
        }
    }

    /// <summary>From now on, VMs created here are refused beyond these limits.</summary>
    public void Limit(int maxVcpus, int maxNamedVms)
    {
        lock (_lock)
        {
            _limits = (maxVcpus, maxNamedVms);
        }
    }

    /// <summary>Counts a VM about to be created here, or returns why the limits refuse it.</summary>
    public string? TryAdd(int vcpus, bool named)
    {
        lock (_lock)
        {
            if (_limits is { } limits)
            {
                if (named && _named >= limits.MaxNamedVms)
                {
                    return $"too many named VMs on the node that would host it (at most {limits.MaxNamedVms})";
                }
                if (_vcpus + (long)vcpus > limits.MaxVcpus)
                {
                    return $"vm: the node that would host it runs {_vcpus} vCPUs; {vcpus} more would pass its limit of {limits.MaxVcpus}";
                }
            }
            Add(vcpus, named);
            return null;
        }
    }

    /// <summary>Counts a VM that is here, whatever the limits (restored or moved in).</summary>
    public void Add(int vcpus, bool named)
    {
        lock (_lock)
        {
            _vms++;
            _vcpus += vcpus;
            _named += named ? 1 : 0;
        }
    }

    public void Remove(int vcpus, bool named)
    {
        lock (_lock)
        {
            _vms--;
            _vcpus -= vcpus;
            _named -= named ? 1 : 0;
        }
    }
}

/// <summary>No answer came from the VM <see cref="Vm"/> within the request timeout: the one the request was for.</summary>
public sealed class VmDidNotAnswerException(string vm, string message) : AskTimeoutException(message)
{
    public string Vm { get; } = vm;
}
