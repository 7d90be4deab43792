using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;
using Spectre.Console;
using VApicActors.Host.Cli;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Cluster;

/// <summary>
/// <c>vapic stress --cluster</c>: joins the cluster as a node (by default one that hosts VMs, so a lone process is a
/// one-node cluster), starts <c>--nodes N</c> − 1 more nodes in this process on free loopback ports, waits until N
/// nodes host stress VMs, runs a <see cref="ClusterStressRun"/>, prints the report and writes the JSON.
/// Exit codes as <c>vapic stress</c>.
/// </summary>
public static class ClusterStressCommand
{
    /// <summary>Most nodes <c>--nodes</c> starts in one process.</summary>
    public const int MaxNodes = 16;

    /// <summary>Applies <c>--port</c> and <c>--seed-node</c>: with a port but no seed node, the node is its own seed (port 0: a free one).</summary>
    public static ClusterSettings Override(ClusterSettings settings, int? port, IReadOnlyList<string>? seedNodes)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (port is < 0 or > 65535)
        {
            throw new StressSettingsException("--port", "must be 0 to 65535");
        }
        foreach (var seed in seedNodes ?? [])
        {
            if (!ClusterSettings.TryParseSeed(seed, out _))
            {
                throw new StressSettingsException("--seed-node", $"must look like akka.tcp://vapic@HOST:PORT, got \"{seed}\"");
            }
        }
        var result = settings;
        if (port is int p)
        {
            result = result with { Port = p == 0 ? FreePort() : p };
        }
        if (seedNodes is { Count: > 0 })
        {
            result = result with { SeedNodes = [.. seedNodes] };
        }
        else if (port is not null)
        {
            result = result with { SeedNodes = [$"akka.tcp://{Hosting.VapicHost.ActorSystemName}@{result.Hostname}:{result.Port}"] };
        }
        return result;
    }

    public static async Task<int> RunAsync(StressSettings settings, ClusterSettings cluster, int nodes, Config config, string? jsonFile,
        IAnsiConsole console, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(console);
        if (!console.Profile.Capabilities.Interactive)
        {
            console.Profile.Width = StressCommand.RedirectedWidth;
        }
        LocalClusterNodes? local = null;
        try
        {
            try
            {
                local = await LocalClusterNodes.StartAsync(cluster, nodes, config, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or ClusterNodeException)
            {
                await Console.Error.WriteLineAsync("vapic stress: " + e.Message).ConfigureAwait(false);
                return StressCommand.ExitUsage;
            }
            var run = new ClusterStressRun(local.Main, settings);
            StressReport report;
            if (settings.Progress && console.Profile.Capabilities.Interactive)
            {
                report = await WithProgressAsync(run, settings, local.HostNodes.Count, console, ct).ConfigureAwait(false);
            }
            else
            {
                report = await run.RunAsync(ct).ConfigureAwait(false);
            }
            StressOutput.Print(console, report);
            if (jsonFile is not null && await CommandLineFiles.TryWriteAllTextAsync(jsonFile, StressOutput.ToJson(report), ct).ConfigureAwait(false) is string why)
            {
                await Console.Error.WriteLineAsync("vapic stress: --json: cannot write " + jsonFile + ": " + why).ConfigureAwait(false);
                return StressCommand.ExitUsage;
            }
            return report.AllInvariantsHold ? StressCommand.ExitOk : StressCommand.ExitViolated;
        }
        finally
        {
            if (local is not null)
            {
                await local.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<StressReport> WithProgressAsync(ClusterStressRun run, StressSettings settings, int nodes, IAnsiConsole console, CancellationToken ct)
    {
        StressReport? report = null;
        await console.Status().StartAsync("starting", async ctx =>
        {
            var watch = Stopwatch.StartNew();
            var task = run.RunAsync(ct);
            while (!task.IsCompleted)
            {
                await Task.WhenAny(task, Task.Delay(250, CancellationToken.None)).ConfigureAwait(false);
                var limit = settings.Sequential || settings.Operations > 0 ? "" : " (of " + settings.Duration.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture) + " s)";
                ctx.Status(string.Format(CultureInfo.InvariantCulture, "{0:F1} s{1}, VMs done: {2} of {3}, on {4} node(s)",
                    watch.Elapsed.TotalSeconds, limit, run.VmsDone, settings.Vms, nodes));
            }
            report = await task.ConfigureAwait(false);
        }).ConfigureAwait(false);
        return report!;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// The cluster nodes of one <c>vapic stress --cluster</c> process: this process's node, which drives the run, and the
/// extra loopback nodes of <c>--nodes</c>, each an actor system named <c>vapic</c> with the VM and stress-VM regions.
/// </summary>
public sealed class LocalClusterNodes : IAsyncDisposable
{
    private static readonly Config NodeConfig = ConfigurationFactory.ParseString("""
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        akka.cluster.run-coordinated-shutdown-when-down = off
        akka.remote.dot-netty.tcp.connection-timeout = 5s
        """);

    private readonly List<VmShards> _extra = [];

    private LocalClusterNodes(VmShards main) => Main = main;

    /// <summary>This process's node (the one the run is driven from).</summary>
    public VmShards Main { get; }

    /// <summary>The nodes hosting stress VMs when the run started (HOST:PORT).</summary>
    public IReadOnlyList<string> HostNodes { get; private set; } = [];

    /// <summary>
    /// Starts this process's node with <paramref name="settings"/> and <paramref name="nodes"/> − 1 more with the role
    /// <c>vm</c> on free ports of the same host name, joining the same seed nodes; waits until <paramref name="nodes"/>
    /// nodes host stress VMs (or, when this node does not host them, until one does).
    /// </summary>
    public static async Task<LocalClusterNodes> StartAsync(ClusterSettings settings, int nodes, Config config, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(config);
        if (nodes is < 1 or > ClusterStressCommand.MaxNodes)
        {
            throw new ArgumentOutOfRangeException(nameof(nodes), nodes, "must be 1 to " + ClusterStressCommand.MaxNodes);
        }
        var main = await StartNodeAsync(settings, config, ct).ConfigureAwait(false);
        var local = new LocalClusterNodes(main);
        try
        {
            var extras = new List<Task<VmShards>>();
            for (var i = 1; i < nodes; i++)
            {
                var extra = settings with { Port = ClusterStressCommand.FreePort(), Roles = [ClusterSettings.VmRole] };
                extras.Add(StartNodeAsync(extra, config, ct));
            }
            foreach (var e in extras)
            {
                local._extra.Add(await e.ConfigureAwait(false));
            }
            var hosts = (settings.HostsVms ? 1 : 0) + nodes - 1;
            local.HostNodes = await main.WaitForNodesAsync(Math.Max(1, hosts), settings.JoinTimeout, ct).ConfigureAwait(false);
            return local;
        }
        catch
        {
            await local.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<VmShards> StartNodeAsync(ClusterSettings settings, Config config, CancellationToken ct)
    {
        if (await settings.PortInUseAsync(ct).ConfigureAwait(false) is { } inUse)
        {
            throw new ClusterNodeException(inUse + " (another node there? --port 0 takes a free port)");
        }
        if (settings.StoreProblem() is { } storeProblem)
        {
            throw new ClusterNodeException(storeProblem);
        }
        ActorSystem system;
        try
        {
            system = ActorSystem.Create(Hosting.VapicHost.ActorSystemName,
                StressCommand.ActorSystemConfig.WithFallback(NodeConfig).WithFallback(settings.ToAkkaConfig()).WithFallback(config));
        }
        catch (Exception e) when (Innermost(e) is SocketException or Akka.Remote.RemoteTransportException)
        {
            throw new ClusterNodeException($"cannot start a cluster node on {settings.Hostname}:{settings.Port}: {Innermost(e).Message}"
                + " (another node there? --port 0 takes a free port)", e);
        }
        try
        {
            return await VmShards.StartAsync(system, settings, null, ct).ConfigureAwait(false);
        }
        catch
        {
            await system.Terminate().ConfigureAwait(false);
            throw;
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e;
    }

    /// <summary>Every node leaves the cluster (the extra ones first) and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_extra.Select(n => LeaveAsync(n.Cluster.System))).ConfigureAwait(false);
        await LeaveAsync(Main.Cluster.System).ConfigureAwait(false);
    }

    private static async Task LeaveAsync(ActorSystem system)
    {
        try
        {
            await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance)
                .WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Leaving took too long: stop the node anyway.
        }
        await system.Terminate().ConfigureAwait(false);
    }
}

/// <summary>A cluster node could not be started (its port taken, its address not this machine's).</summary>
public sealed class ClusterNodeException : Exception
{
    public ClusterNodeException(string message)
        : base(message)
    {
    }

    public ClusterNodeException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
