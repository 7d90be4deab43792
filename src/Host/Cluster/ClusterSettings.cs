using System.Net;
using System.Net.Sockets;
using Akka.Configuration;
using VApicActors.Host.Configuration;

namespace VApicActors.Host.Cluster;

/// <summary>The settings of cluster mode (<c>vapic.cluster</c> in <c>hocon/cluster.hocon</c>), checked.</summary>
public sealed record ClusterSettings
{
    public const string Section = "vapic.cluster";

    /// <summary>The role of the nodes that host VMs.</summary>
    public const string VmRole = "vm";

    public required string Hostname { get; init; }

    public required int Port { get; init; }

    public required IReadOnlyList<string> SeedNodes { get; init; }

    public required IReadOnlyList<string> Roles { get; init; }

    public required int ShardCount { get; init; }

    public required TimeSpan SnapshotInterval { get; init; }

    public required int SnapshotsKept { get; init; }

    public required TimeSpan RequestTimeout { get; init; }

    public required TimeSpan JoinTimeout { get; init; }

    public required TimeSpan DownUnreachableAfter { get; init; }

    public required string PersistenceProvider { get; init; }

    public required string ConnectionString { get; init; }

    /// <summary>This node hosts VMs.</summary>
    public bool HostsVms => Roles.Contains(VmRole, StringComparer.Ordinal);

    public static ClusterSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var section = new HoconSection(config, Section);
        var hostname = section.ReadString("hostname");
        if (hostname.Length == 0 || hostname.Any(char.IsWhiteSpace))
        {
            throw new SettingsException(section.Key("hostname"), $"must be a host name or address without spaces, got \"{hostname}\"");
        }
        var seeds = section.ReadStringList("seed-nodes");
        foreach (var seed in seeds)
        {
            if (!TryParseSeed(seed, out _))
            {
                throw new SettingsException(section.Key("seed-nodes"), $"each seed must look like akka.tcp://vapic@HOST:PORT, got \"{seed}\"");
            }
        }
        var roles = section.ReadStringList("roles");
        foreach (var role in roles)
        {
            if (role.Length == 0 || !role.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw new SettingsException(section.Key("roles"), $"a role is letters, digits, '-' and '_', got \"{role}\"");
            }
        }
        var provider = section.ReadString("persistence.provider-name");
        var connection = section.ReadString("persistence.connection-string");
        if (connection.Length == 0)
        {
            throw new SettingsException(section.Key("persistence.connection-string"), "must not be empty");
        }
        CheckProvider(section.Key("persistence.provider-name"), provider, connection);
        return new ClusterSettings
        {
            Hostname = hostname,
            Port = section.ReadInt("port", 0, 65535),
            SeedNodes = seeds,
            Roles = roles,
            ShardCount = section.ReadInt("shard-count", 1, 10_000),
            SnapshotInterval = section.ReadDuration("snapshot-interval", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)),
            SnapshotsKept = section.ReadInt("snapshots-kept", 1, 100),
            RequestTimeout = section.ReadDuration("request-timeout", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
            JoinTimeout = section.ReadDuration("join-timeout", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
            DownUnreachableAfter = section.ReadDuration("down-unreachable-after", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
            PersistenceProvider = provider,
            ConnectionString = connection,
        };
    }

    /// <summary>The persistence providers whose database client library is part of vapic.</summary>
    public static readonly IReadOnlyList<string> SupportedProviders = ["SQLite.MS"];

    /// <summary>
    /// Refuses a provider name linq2db does not know, or one whose client library vapic does not include, at start-up:
    /// Akka.Persistence.Sql would otherwise find out only when the first VM saves a snapshot, and fail at every one.
    /// </summary>
    private static void CheckProvider(string key, string provider, string connection)
    {
        var supported = string.Join(", ", SupportedProviders);
        LinqToDB.DataProvider.IDataProvider? found;
        try
        {
            found = LinqToDB.Data.DataConnection.GetDataProvider(provider, connection);
        }
        catch (Exception e)
        {
            throw new SettingsException(key, $"\"{provider}\" needs a database client library that this build of vapic does not include "
                + $"({e.GetBaseException().Message}); supported: {supported}", e);
        }
        if (found is null)
        {
            throw new SettingsException(key, $"must be a persistence provider name (case matters), supported: {supported}; got \"{provider}\"");
        }
    }

    /// <summary>A seed node address: <c>akka.tcp://vapic@HOST:PORT</c> (the system name must be <c>vapic</c>).</summary>
    public static bool TryParseSeed(string text, out Uri? uri)
    {
        uri = null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || parsed.Scheme != "akka.tcp" || parsed.UserInfo != Hosting.VapicHost.ActorSystemName
            || parsed.Port <= 0 || parsed.Host.Length == 0 || parsed.AbsolutePath is not ("" or "/"))
        {
            return false;
        }
        uri = parsed;
        return true;
    }

    /// <summary>
    /// Why this node must not start on its cluster port, or null: something already accepts connections there. The
    /// transport binds its port for reuse (so that a node can restart at once on the port it left), which also lets a
    /// second node bind a port a live one listens on and start as a cluster of its own at the same address.
    /// </summary>
    public async Task<string?> PortInUseAsync(CancellationToken cancellationToken)
    {
        if (Port == 0)
        {
            return null; // a free port is chosen
        }
        // Every address of this machine the name stands for (a name may give IPv6 and IPv4 ones); one that is not this
        // machine's is the transport's to report.
        foreach (var address in LocalAddresses(Hostname))
        {
            using var probe = new TcpClient(address.AddressFamily);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await probe.ConnectAsync(address, Port, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                continue; // nothing listens there
            }
            return $"cannot start a cluster node on {Hostname}:{Port}: something already listens there";
        }
        return null;
    }

    /// <summary>
    /// Why this node cannot use its store, or null: the database cannot be opened, or not written (SQLite: a folder that
    /// does not exist or cannot be written, a file that is read-only). Checked before the node joins: the journal and
    /// the snapshot store would find out only then, log a stack trace every few seconds, and fail every VM's creation.
    /// </summary>
    public string? StoreProblem()
    {
        if (PersistenceProvider != "SQLite.MS")
        {
            return null; // no other provider's client library is part of this build (refused with the settings)
        }
        try
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            // Takes the write lock without writing anything.
            command.CommandText = "BEGIN IMMEDIATE; ROLLBACK;";
            command.ExecuteNonQuery();
            return null;
        }
        catch (Exception e) when (e is System.Data.Common.DbException or ArgumentException or InvalidOperationException)
        {
            return $"the cluster store cannot be written (vapic.cluster.persistence.connection-string \"{ConnectionString}\"): {e.Message}";
        }
    }

    /// <summary>The addresses of this machine <paramref name="hostname"/> names (the loopback ones for "any").</summary>
    private static List<IPAddress> LocalAddresses(string hostname)
    {
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(hostname, out var parsed) ? [parsed] : Dns.GetHostAddresses(hostname);
        }
        catch (SocketException)
        {
            return [];
        }
        var local = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .ToHashSet();
        var result = new List<IPAddress>();
        foreach (var address in addresses)
        {
            if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
            {
                result.Add(address.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback);
            }
            else if (IPAddress.IsLoopback(address) || local.Contains(address))
            {
                result.Add(address);
            }
        }
        return result;
    }

    /// <summary>
    /// The Akka settings of a cluster node with these settings: cluster provider, remoting on
    /// <see cref="Hostname"/>:<see cref="Port"/>, seed nodes and roles, the split-brain resolver, sharding, the
    /// SQL journal and snapshot store, and the serializer of the cluster's messages. Goes in front of the
    /// rest of the configuration.
    /// </summary>
    public Config ToAkkaConfig()
    {
        static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var seeds = string.Join(", ", SeedNodes.Select(Quote));
        var roles = string.Join(", ", Roles.Select(Quote));
        var serializer = typeof(ClusterMessageSerializer).AssemblyQualifiedNameShort();
        var binding = typeof(IClusterMessage).AssemblyQualifiedNameShort();
        var hocon = $$"""
            akka {
              actor {
                provider = cluster
                serializers.vapic-cluster = {{Quote(serializer)}}
                serialization-bindings { {{Quote(binding)}} = vapic-cluster }
                serialization-identifiers { {{Quote(serializer)}} = {{ClusterMessageSerializer.Id}} }
              }
              remote.dot-netty.tcp {
                hostname = {{Quote(Hostname)}}
                port = {{Port}}
                maximum-frame-size = 16 MiB
                send-buffer-size = 16 MiB
                receive-buffer-size = 16 MiB
              }
              cluster {
                seed-nodes = [{{seeds}}]
                roles = [{{roles}}]
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver {
                  active-strategy = keep-majority
                  stable-after = {{(long)DownUnreachableAfter.TotalMilliseconds}}ms
                }
                sharding {
                  role = {{Quote(VmRole)}}
                  state-store-mode = ddata
                  remember-entities = on
                  remember-entities-store = eventsourced
                  passivate-idle-entity-after = off
                  handoff-timeout = {{(long)(RequestTimeout.TotalMilliseconds * 2)}}ms
                }
              }
              persistence {
                journal {
                  plugin = "akka.persistence.journal.sql"
                  sql {
                    connection-string = {{Quote(ConnectionString)}}
                    provider-name = {{Quote(PersistenceProvider)}}
                    auto-initialize = on
                  }
                }
                snapshot-store {
                  plugin = "akka.persistence.snapshot-store.sql"
                  sql {
                    connection-string = {{Quote(ConnectionString)}}
                    provider-name = {{Quote(PersistenceProvider)}}
                    auto-initialize = on
                  }
                }
              }
            }
            """;
        return ConfigurationFactory.ParseString(hocon).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }
}

internal static class TypeNames
{
    /// <summary>"Namespace.Type, Assembly": what HOCON type settings expect.</summary>
    public static string AssemblyQualifiedNameShort(this Type type) => type.FullName + ", " + type.Assembly.GetName().Name;
}
