using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;
using VApicActors.Host.Cluster;
using VApicActors.Host.Configuration;
using VApicActors.Host.Service;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>
/// A cluster of several nodes on loopback inside the test process: each node an actor system with the VM shard
/// region and (when asked) the service in cluster mode, all sharing one SQLite snapshot store in a scratch directory.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<TestNode> _nodes = [];
    private Config _extra = Config.Empty;

    private TestCluster()
    {
    }

    public IReadOnlyList<TestNode> Nodes => _nodes;

    public string Seed { get; private set; } = "";

    /// <summary>The defaults of hocon/cluster.hocon with the settings a test on one machine needs.</summary>
    public ClusterSettings BaseSettings { get; private set; } = null!;

    /// <param name="extra">Akka settings that take precedence on every node (another snapshot store, say).</param>
    /// <param name="requestTimeout">How long a session waits for its VM (8 s unless given).</param>
    public static async Task<TestCluster> StartAsync(int nodes, TimeSpan? snapshotInterval = null, Config? extra = null, TimeSpan? requestTimeout = null)
    {
        var cluster = new TestCluster { _extra = extra ?? Config.Empty };
        var seedPort = FreePort();
        cluster.Seed = $"akka.tcp://vapic@127.0.0.1:{seedPort}";
        cluster.BaseSettings = ClusterSettings.Create(HoconSettings.LoadConfig()) with
        {
            Port = seedPort,
            SeedNodes = [cluster.Seed],
            ConnectionString = "Data Source=" + cluster._directory.File("cluster.db"),
            SnapshotInterval = snapshotInterval ?? TimeSpan.FromMinutes(10),
            DownUnreachableAfter = TimeSpan.FromSeconds(2),
            RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(8),
        };
        for (var i = 0; i < nodes; i++)
        {
            await cluster.AddNodeAsync();
        }
        await cluster.WaitForUpAsync(nodes);
        return cluster;
    }

    /// <summary>Starts one more node (the first one is the seed) and waits until it has joined.</summary>
    public async Task<TestNode> AddNodeAsync(IReadOnlyList<string>? roles = null)
    {
        var settings = BaseSettings with { Port = _nodes.Count == 0 ? BaseSettings.Port : FreePort(), Roles = roles ?? [ClusterSettings.VmRole] };
        var quiet = ConfigurationFactory.ParseString("""
            akka.loglevel = ERROR
            akka.stdout-loglevel = ERROR
            akka.loggers = ["Akka.Event.DefaultLogger"]
            akka.log-dead-letters = off
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            akka.cluster.run-coordinated-shutdown-when-down = off
            akka.remote.dot-netty.tcp.connection-timeout = 2s
            """);
        var system = ActorSystem.Create("vapic", _extra.WithFallback(quiet).WithFallback(settings.ToAkkaConfig()).WithFallback(HoconSettings.LoadConfig()));
        var shards = await VmShards.StartAsync(system, settings, null);
        var node = new TestNode(system, shards, settings.Port);
        _nodes.Add(node);
        return node;
    }

    /// <summary>
    /// Waits until every node sees <paramref name="members"/> members up, and the shard coordinator knows the shard region
    /// of every member that hosts VMs: until it does, it gives every new shard to the regions it knows, so a test that
    /// wants a VM on a node that just joined could create VMs on the others only.
    /// </summary>
    public async Task WaitForUpAsync(int members)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (_nodes.Any(n => !n.Crashed && n.Shards.Cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) != members)
               || !await AllRegionsKnownAsync())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the cluster did not reach {members} members up, each with its shard region known");
            }
            await Task.Delay(100);
        }
    }

    private async Task<bool> AllRegionsKnownAsync()
    {
        var live = _nodes.Where(n => !n.Crashed).ToList();
        var hosting = live[0].Shards.Cluster.State.Members
            .Where(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(ClusterSettings.VmRole))
            .Select(m => m.Address)
            .ToHashSet();
        try
        {
            var known = await live[0].Shards.Region.Ask<Akka.Cluster.Sharding.CurrentRegions>(Akka.Cluster.Sharding.GetCurrentRegions.Instance, TimeSpan.FromSeconds(2));
            var self = live[0].Shards.Cluster.SelfAddress;
            // The coordinator names this node's own region by its address without host and port.
            return hosting.All(a => known.Regions.Contains(a) || (a == self && known.Regions.Any(r => !r.HasGlobalScope)));
        }
        catch (AskTimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
        _directory.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One node of a <see cref="TestCluster"/>.</summary>
public sealed class TestNode : IAsyncDisposable
{
    internal TestNode(ActorSystem system, VmShards shards, int port)
    {
        System = system;
        Shards = shards;
        Port = port;
    }

    public ActorSystem System { get; }

    public VmShards Shards { get; }

    public int Port { get; }

    /// <summary>"127.0.0.1:PORT", as the cluster view and <see cref="VmReady.Node"/> name it.</summary>
    public string Endpoint => "127.0.0.1:" + Port;

    public VapicService? Service { get; private set; }

    public bool Crashed { get; private set; }

    /// <summary>Starts the service of this node in cluster mode on a free loopback port; with a sink, it traces every request there.</summary>
    public VapicService StartService(VApicActors.Actors.ITraceSink? trace = null, Func<ServiceSettings, ServiceSettings>? adjust = null)
    {
        var settings = ServiceSettings.Load() with { Listen = new HostPort("127.0.0.1", 0), TraceRequests = trace is not null };
        settings = adjust?.Invoke(settings) ?? settings;
        Service = VapicService.Start(System, settings, trace, cluster: Shards);
        return Service;
    }

    /// <summary>Leaves the cluster gracefully: its shards (and their VMs, with their state) move to the other nodes.</summary>
    public async Task LeaveAsync()
    {
        if (Service is not null)
        {
            await Service.StopAsync();
        }
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        Crashed = true;
    }

    /// <summary>Stops the node without telling the cluster, as a crash would: no leave, no handoff, no snapshot.</summary>
    public async Task CrashAsync()
    {
        Crashed = true;
        if (Service is not null)
        {
            await Service.StopAsync();
        }
        await System.Terminate();
    }

    public async ValueTask DisposeAsync()
    {
        if (Service is not null)
        {
            await Service.StopAsync();
        }
        await System.Terminate();
    }
}
