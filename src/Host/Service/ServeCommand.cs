using System.CommandLine;
using System.Net.Sockets;
using VApicActors.Host.Cli;
using VApicActors.Host.Cluster;
using VApicActors.Host.Configuration;

namespace VApicActors.Host.Service;

/// <summary>
/// <c>vapic serve [--listen HOST:PORT]</c>: runs the simulation service until Ctrl-C or SIGTERM, then shuts
/// it down gracefully. Limits come from <c>vapic.service</c> (<c>hocon/service.hocon</c>). Exit status 0
/// after a clean stop, 2 for a configuration error or an address that cannot be bound.
/// </summary>
public static class ServeCommand
{
    public const int ExitOk = 0;
    public const int ExitUsage = 2;

    /// <param name="configFile">The root command's <c>--config</c> option.</param>
    public static Command Create(Option<string?> configFile, ServiceHostRunner runHost, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(runHost);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);

        var listen = new Option<string?>("--listen")
        {
            Description = "Address and port to listen on (vapic.service.listen, normally 127.0.0.1:7411); port 0 picks a free one. " +
                          "Only an address given here or in the configuration is used: loopback unless asked otherwise",
            HelpName = "HOST:PORT",
        };
        var cluster = new Option<bool>("--cluster")
        {
            Description = "Join the cluster of hocon/cluster.hocon (vapic.cluster): VMs are spread over its nodes and any node's sessions reach any VM",
        };
        var port = new Option<int?>("--cluster-port") { Description = "This node's cluster port (vapic.cluster.port); 0 picks a free one", HelpName = "PORT" };
        var seeds = new Option<string[]>("--seed-node")
        {
            Description = "A seed node, akka.tcp://vapic@HOST:PORT (vapic.cluster.seed-nodes); repeat for several",
            HelpName = "ADDRESS",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command(
            "serve",
            "Run the simulation service: each TCP connection is a session that sends scenario-language lines and gets one answer per line " +
            "(OK, OK VALUE, #GP, ERR REASON); see docs/service.md. Runs until Ctrl-C or SIGTERM.");
        command.Options.Add(listen);
        command.Options.Add(cluster);
        command.Options.Add(port);
        command.Options.Add(seeds);
        command.SetAction((parse, ct) => ServeAsync(parse, parse.GetValue(configFile), parse.GetValue(listen),
            parse.GetValue(cluster) ? new ClusterOptions(parse.GetValue(port), parse.GetValue(seeds) ?? []) : null, runHost, output, error, ct));
        return command;
    }

    private static async Task<int> ServeAsync(ParseResult parse, string? configPath, string? listen, ClusterOptions? clusterOptions, ServiceHostRunner runHost, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ServiceSettings settings;
        ClusterSettings? clusterSettings = null;
        try
        {
            var config = HoconSettings.LoadConfig(configPath);
            settings = ServiceSettings.Create(config);
            if (clusterOptions is not null)
            {
                clusterSettings = clusterOptions.Apply(ClusterSettings.Create(config));
            }
        }
        catch (SettingsException e)
        {
            await error.WriteLineAsync($"vapic: {e.Message}").ConfigureAwait(false);
            return ExitUsage;
        }
        if (listen is not null)
        {
            if (!HostPort.TryParse(listen, out var endpoint, out var problem) || !endpoint!.TryGetListenAddress(out _))
            {
                await error.WriteLineAsync($"vapic: --listen: {(endpoint is null ? problem : $"the host must be an IP address or localhost, got \"{endpoint.Host}\"")}").ConfigureAwait(false);
                return ExitUsage;
            }
            settings = settings with { Listen = endpoint };
        }

        if (clusterSettings is not null && await clusterSettings.PortInUseAsync(cancellationToken).ConfigureAwait(false) is { } inUse)
        {
            await error.WriteLineAsync($"vapic: {inUse} (another node? give this one another --cluster-port, or --cluster-port 0 for a free one)").ConfigureAwait(false);
            return ExitUsage;
        }

        if (clusterSettings is not null && settings.Listen.Port != 0 && settings.Listen.TryGetListenAddress(out var listenAddress))
        {
            // A node that cannot serve must not join first: the coordinator would give it shards (and new VMs) until it left.
            var probe = new TcpListener(listenAddress, settings.Listen.Port);
            try
            {
                probe.Start();
            }
            catch (SocketException e)
            {
                await error.WriteLineAsync($"vapic: cannot listen on {settings.Listen}: {e.Message}").ConfigureAwait(false);
                return ExitUsage;
            }
            finally
            {
                probe.Stop();
            }
        }

        if (clusterSettings?.StoreProblem() is { } storeProblem)
        {
            await error.WriteLineAsync($"vapic: {storeProblem}").ConfigureAwait(false);
            return ExitUsage;
        }

        return await runHost(parse, clusterSettings?.ToAkkaConfig(), async (system, trace, ct) =>
        {
            VmShards? shards = null;
            if (clusterSettings is not null)
            {
                await output.WriteLineAsync($"vapic: joining the cluster as {clusterSettings.Hostname}:{clusterSettings.Port} (seed nodes: {string.Join(", ", clusterSettings.SeedNodes)})").ConfigureAwait(false);
                try
                {
                    shards = await VmShards.StartAsync(system, clusterSettings, trace, ct).ConfigureAwait(false);
                }
                catch (TimeoutException e)
                {
                    await error.WriteLineAsync($"vapic: {e.Message}").ConfigureAwait(false);
                    return ExitUsage;
                }
                await output.WriteLineAsync($"vapic: node {shards.Cluster.SelfAddress} is up; " +
                    (clusterSettings.HostsVms ? "this node hosts VMs" : "this node hosts no VMs (no \"vm\" role)")).ConfigureAwait(false);
            }
            VapicService service;
            try
            {
                service = VapicService.Start(system, settings, trace, report: line =>
                {
                    try
                    {
                        output.WriteLine($"[{DateTime.Now.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)}] {line}");
                    }
                    catch (StandardOutputClosedException)
                    {
                        // Nobody reads the status lines any more; the sessions are served all the same.
                    }
                }, cluster: shards);
            }
            catch (SocketException e)
            {
                await error.WriteLineAsync($"vapic: cannot listen on {settings.Listen}: {e.Message}").ConfigureAwait(false);
                return ExitUsage;
            }

            await using (service.ConfigureAwait(false))
            {
                await output.WriteLineAsync($"vapic: serving on {service.LocalEndpoint}; Ctrl-C stops").ConfigureAwait(false);
                await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl-C or SIGTERM: the normal way to stop.
                }
                await service.StopAsync().ConfigureAwait(false);
                var stats = service.Snapshot();
                await output.WriteLineAsync($"vapic: stopped after {Plural.Count(stats.Requests, "request")} in {Plural.Count(stats.SessionsTotal, "session")}").ConfigureAwait(false);
            }
            return ExitOk;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The command line's cluster options, applied over <c>vapic.cluster</c>.</summary>
    private sealed record ClusterOptions(int? Port, string[] Seeds)
    {
        public ClusterSettings Apply(ClusterSettings settings)
        {
            if (Port is int port)
            {
                if (port is < 0 or > 65535)
                {
                    throw new SettingsException("--cluster-port", $"must be from 0 to 65535, got {port}");
                }
                settings = settings with { Port = port };
            }
            if (Seeds.Length > 0)
            {
                foreach (var seed in Seeds)
                {
                    if (!ClusterSettings.TryParseSeed(seed, out _))
                    {
                        throw new SettingsException("--seed-node", $"must look like akka.tcp://vapic@HOST:PORT, got \"{seed}\"");
                    }
                }
                settings = settings with { SeedNodes = Seeds };
            }
            return settings;
        }
    }
}
