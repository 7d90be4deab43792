using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Spectre.Console;
using VApicActors.Actors;

using VApicActors.Host.Cli;
using VApicActors.Host.Cluster;
using VApicActors.Host.Configuration;
using VApicActors.Host.Hosting;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.Stress;

/// <summary>
/// <c>vapic stress</c>: runs a multi-vCPU stress workload, checks its invariants and prints the report. Exit codes:
/// 0 every invariant holds, 1 a violation, 2 a usage or configuration error, or a trace or JSON file that could not be written.
/// </summary>
public static class StressCommand
{
    public const int ExitOk = 0;
    public const int ExitViolated = 1;
    public const int ExitUsage = 2;
    internal const int RedirectedWidth = 160;

    /// <summary>The actor system settings of a stress or bench run: errors are counted, dead letters are not logged.</summary>
    internal static readonly Config ActorSystemConfig = ConfigurationFactory.ParseString("""
        akka.loglevel = ERROR
        akka.stdout-loglevel = ERROR
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        """);

    /// <summary>
    /// The actor system of a measuring command (stress, bench, scale): quiet, with the VM dispatcher's settings from
    /// <paramref name="config"/>, the application's configuration, if it has them.
    /// </summary>
    internal static ActorSystem CreateSystem(string name, Config? config)
    {
        var system = ActorSystem.Create(name, ActorSystemConfig);
        VcpuDispatcher.Configure(system, config);
        return system;
    }

    /// <param name="configFile">The root command's <c>--config</c> option.</param>
    /// <param name="traceFile">The root command's <c>--trace</c> option: a stress run writes its message trace only when it is given.</param>
    public static Command Create(Option<string?> configFile, Option<string?> traceFile)
    {
        var vcpus = new Option<int?>("--vcpus") { Description = "vCPUs per VM (vapic.stress.vcpus)", HelpName = "N" };
        var vms = new Option<int?>("--vms") { Description = "Number of VMs (vapic.stress.vms)", HelpName = "M" };
        var mode = new Option<string?>("--mode") { Description = "xapic or x2apic (vapic.stress.mode)" };
        mode.AcceptOnly("xapic", "x2apic");
        var ids = new Option<string?>("--apic-ids") { Description = "dense or sparse APIC IDs (vapic.stress.apic-ids)" };
        ids.AcceptOnly("dense", "sparse");
        var seconds = new Option<double?>("--seconds") { Description = "Run for S wall-clock seconds (vapic.stress.duration)", HelpName = "S" };
        var operations = new Option<long?>("--operations") { Description = "Run K operations in all instead (vapic.stress.operations); 0 runs for --seconds", HelpName = "K" };
        var seed = new Option<long?>("--seed") { Description = "Seed of the workload (vapic.stress.seed)", HelpName = "X" };
        var mix = new Option<string?>("--mix")
        {
            Description = "Weights of the operation kinds, e.g. fixed=10,callfn=5,tpr=0 (vapic.stress.mix): "
                + string.Join(", ", Enum.GetValues<OperationKind>().Select(OperationMix.Key)),
            HelpName = "NAME=W,...",
        };
        var json = new Option<string?>("--json") { Description = "Also write the report as JSON to FILE", HelpName = "FILE" };
        var sequential = new Option<bool>("--sequential") { Description = "One operation at a time: the same seed gives the identical report" };
        var cluster = new Option<bool>("--cluster") { Description = "Spread the VMs over the cluster of hocon/cluster.hocon (this process joins it as a node) and add their reports up" };
        var nodes = new Option<int?>("--nodes")
        {
            Description = "With --cluster: start N-1 more nodes in this process on free loopback ports and wait for N nodes (1 to " + ClusterStressCommand.MaxNodes + ")",
            HelpName = "N",
        };
        var port = new Option<int?>("--port") { Description = "With --cluster: this node's port (vapic.cluster.port; 0 a free one); without --seed-node it is its own seed", HelpName = "P" };
        var seedNodes = new Option<string[]>("--seed-node")
        {
            Description = "With --cluster: a seed node, akka.tcp://vapic@HOST:PORT (vapic.cluster.seed-nodes); may be repeated",
            HelpName = "URI",
            AllowMultipleArgumentsPerToken = false,
        };

        var command = new Command("stress", "Stress-test interrupt delivery across many vCPUs and check the invariants; exit 0 only if every one holds");
        foreach (var o in new Option[] { vcpus, vms, mode, ids, seconds, operations, seed, mix, json, sequential, cluster, nodes, port, seedNodes })
        {
            command.Options.Add(o);
        }
        command.SetAction(async (parse, ct) =>
        {
            StressSettings settings;
            Config config;
            ClusterSettings? clusterSettings = null;
            var inCluster = parse.GetValue(cluster);
            var nodeCount = parse.GetValue(nodes);
            try
            {
                config = StressSettings.LoadConfig(parse.GetValue(configFile), Console.Error);
                AkkaSettingsCheck.ValidateVcpuDispatcher(config);
                // The combination of values is checked once the options have been laid over the file's (Override).
                settings = StressSettings.Read(config);
                if (parse.GetValue(seconds) is not null && parse.GetValue(sequential))
                {
                    throw new StressSettingsException("--seconds", "a --sequential run is a number of operations (--operations), not a time");
                }
                // (Each value is checked first: --seconds 0 is out of range, as a duration of 0 is in the configuration.)
                settings = Override(settings, parse.GetValue(vcpus), parse.GetValue(vms), parse.GetValue(mode), parse.GetValue(ids),
                    parse.GetValue(seconds), parse.GetValue(operations), parse.GetValue(seed), parse.GetValue(mix), parse.GetValue(sequential));
                // A run is measured in one way: a time, or a number of operations (always the latter when sequential).
                // --operations 0 means "by time", as operations = 0 does in the configuration, so it goes with --seconds.
                if (parse.GetValue(seconds) is not null && parse.GetValue(operations) is > 0)
                {
                    throw new StressSettingsException("--seconds", "give --seconds or a number of --operations, not both (--operations 0 runs by time)");
                }
                if (!inCluster)
                {
                    foreach (var (given, name) in new[] { (nodeCount is not null, "--nodes"), (parse.GetValue(port) is not null, "--port"),
                        (parse.GetValue(seedNodes) is { Length: > 0 }, "--seed-node") })
                    {
                        if (given)
                        {
                            throw new StressSettingsException(name, "applies only with --cluster");
                        }
                    }
                }
                else
                {
                    if (nodeCount is < 1 or > ClusterStressCommand.MaxNodes)
                    {
                        throw new StressSettingsException("--nodes", "must be 1 to " + ClusterStressCommand.MaxNodes);
                    }
                    if (parse.GetValue(traceFile) is not null)
                    {
                        throw new StressSettingsException("--trace", "a cluster run writes no message trace (its VMs run on several nodes)");
                    }
                    if (settings.Operations > 0 && settings.Operations < settings.Vms)
                    {
                        throw new StressSettingsException("--operations", "a cluster run needs at least one operation per VM (" + settings.Vms + ")");
                    }
                    clusterSettings = ClusterStressCommand.Override(ClusterSettings.Create(config), parse.GetValue(port), parse.GetValue(seedNodes));
                }
            }
            catch (Exception e) when (e is StressSettingsException or SettingsException or IOException or ConfigurationException)
            {
                await Console.Error.WriteLineAsync("vapic stress: " + e.Message).ConfigureAwait(false);
                return ExitUsage;
            }
            if (parse.GetValue(json) is string jsonFile && CommandLineFiles.CannotWrite(jsonFile) is string why)
            {
                await Console.Error.WriteLineAsync("vapic stress: --json: cannot write " + jsonFile + ": " + why).ConfigureAwait(false);
                return ExitUsage;
            }
            if (CommandLineFiles.SameFile(parse.GetValue(json), parse.GetValue(traceFile)))
            {
                // The report, written last, would replace the trace the run had just written there.
                await Console.Error.WriteLineAsync("vapic stress: --json: " + parse.GetValue(json) + " is also the --trace file; give each its own file")
                    .ConfigureAwait(false);
                return ExitUsage;
            }
            var code = clusterSettings is not null
                ? await ClusterStressCommand.RunAsync(settings, clusterSettings, nodeCount ?? 1, config, parse.GetValue(json), AnsiConsole.Console, ct)
                    .ConfigureAwait(false)
                : await RunAsync(settings, parse.GetValue(json), AnsiConsole.Console, ct, parse.GetValue(traceFile), config).ConfigureAwait(false);
            // After the report, where it is read with the rates it speaks of.
            if (code != ExitUsage && MachineInfo.DebugBuildWarning("stress") is { } warning)
            {
                await Console.Error.WriteLineAsync(warning).ConfigureAwait(false);
            }
            return code;
        });
        return command;
    }

    /// <summary>Applies command-line values over the HOCON settings; a bad value throws naming the option.</summary>
    public static StressSettings Override(StressSettings s, int? vcpus, int? vms, string? mode, string? ids, double? seconds,
        long? operations, long? seed, string? mix, bool sequential)
    {
        if (seconds is double sec && (sec <= 0 || sec > 3600 || double.IsNaN(sec)))
        {
            throw new StressSettingsException("--seconds", "must be more than 0 and at most 3600");
        }
        if (seconds is double tiny && TimeSpan.FromSeconds(tiny) <= TimeSpan.Zero)
        {
            // A positive time shorter than a tick would become a duration of 0, refused under the configuration's key.
            throw new StressSettingsException("--seconds", "must be at least 0.0000001 (100 ns)");
        }
        OperationMix newMix;
        try
        {
            newMix = mix is null ? s.Mix : s.Mix.With(mix);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new StressSettingsException("--mix", e.Message);
        }
        var result = s with
        {
            Vcpus = vcpus ?? s.Vcpus,
            Vms = vms ?? s.Vms,
            X2Apic = mode is null ? s.X2Apic : mode == "x2apic",
            SparseApicIds = ids is null ? s.SparseApicIds : ids == "sparse",
            Duration = seconds is double d ? TimeSpan.FromSeconds(d) : s.Duration,
            Operations = seconds is not null && operations is null ? 0 : operations ?? s.Operations,
            Seed = seed ?? s.Seed,
            Mix = newMix,
            Sequential = sequential || s.Sequential,
        };
        try
        {
            result.Validate();
        }
        catch (StressSettingsException e) when (e.Key == StressSettings.Section + ".fault-vcpu" && vcpus is not null)
        {
            // "--vcpus: must be below vcpus" would blame the option for a rule of a key it does not name.
            throw new StressSettingsException("--vcpus", "must be more than " + StressSettings.Section + ".fault-vcpu (" + result.FaultVcpu
                + "), the vCPU whose IPI lose-one-ipi loses", e);
        }
        catch (StressSettingsException e) when (GivenOption(e.Key, vcpus, vms, mode, ids, operations) is string option)
        {
            // A value from the command line is named as it was given, with the remedy in the same words.
            throw new StressSettingsException(option, e.Problem.Replace("use mode = x2apic", "use --mode x2apic", StringComparison.Ordinal), e);
        }
        return result;
    }

    /// <summary>The command-line option that set the value a settings key names, when one did.</summary>
    private static string? GivenOption(string key, int? vcpus, int? vms, string? mode, string? ids, long? operations) =>
        key[(key.LastIndexOf('.') + 1)..] switch
        {
            "vcpus" when vcpus is not null => "--vcpus",
            "vcpus" when mode is not null => "--mode",
            "vms" when vms is not null => "--vms",
            "apic-ids" when ids is not null => "--apic-ids",
            "apic-ids" when vcpus is not null => "--vcpus",
            "operations" when operations is not null => "--operations",
            _ => null,
        };

    /// <summary>
    /// Runs, prints (with progress when the console is interactive), writes the JSON; returns the exit code. A trace
    /// file that cannot be created is refused before the run (2); a trace or JSON file that cannot be written is
    /// reported after the report is printed (2).
    /// </summary>
    /// <param name="traceFile">Where to write the message trace (compact JSON), or null for none.</param>
    /// <param name="config">The application's configuration, for the actor system's settings in it (<see cref="VcpuDispatcher"/>).</param>
    public static async Task<int> RunAsync(StressSettings settings, string? jsonFile, IAnsiConsole console, CancellationToken ct, string? traceFile = null,
        Config? config = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(console);
        if (!console.Profile.Capabilities.Interactive)
        {
            console.Profile.Width = RedirectedWidth;
        }
        SerilogTraceSink? trace = null;
        try
        {
            trace = traceFile is null ? null : SerilogTraceSink.Create(traceFile);
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            await Console.Error.WriteLineAsync("vapic stress: cannot write the trace to " + traceFile + ": " + CommandLineFiles.WriteReason(traceFile!, e)).ConfigureAwait(false);
            return ExitUsage;
        }
        var system = CreateSystem("vapic-stress", config);
        StressReport report;
        StressEngine engine;
        try
        {
            engine = new StressEngine(system, settings, trace);
            if (settings.Progress && console.Profile.Capabilities.Interactive)
            {
                report = await WithProgressAsync(engine, settings, console, ct).ConfigureAwait(false);
            }
            else
            {
                report = await engine.RunAsync(ct).ConfigureAwait(false);
            }
            StressOutput.Print(console, report);
            if (report.Interrupted)
            {
                await Console.Error.WriteLineAsync(InterruptedLine(report, settings, engine.PlannedOperations)).ConfigureAwait(false);
            }
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
            trace?.Dispose();
        }

        var code = report.AllInvariantsHold ? ExitOk : ExitViolated;
        if (trace is not null)
        {
            if (trace.Failure is { } failure)
            {
                await Console.Error.WriteLineAsync($"vapic stress: writing the trace to {trace.FilePath} failed: {failure.Message}").ConfigureAwait(false);
                code = ExitUsage;
            }
            else
            {
                await Console.Error.WriteLineAsync($"trace: {Plural.Count(trace.Written, "event")} written to {Path.GetFullPath(trace.FilePath)}").ConfigureAwait(false);
                if (!report.AllInvariantsHold)
                {
                    // Where the violation's sequence numbers lead: each IPI's path, the ones that did not end in an EOI.
                    await Console.Error.WriteLineAsync($"to follow the IPIs that did not end in an EOI: vapic trace ipis {trace.FilePath} --problems").ConfigureAwait(false);
                }
            }
        }
        if (jsonFile is not null && await CommandLineFiles.TryWriteAllTextAsync(jsonFile, StressOutput.ToJson(report), CancellationToken.None).ConfigureAwait(false) is string why)
        {
            await Console.Error.WriteLineAsync("vapic stress: --json: cannot write " + jsonFile + ": " + why).ConfigureAwait(false);
            code = ExitUsage;
        }
        return code;
    }

    /// <summary>
    /// The line that says a run was interrupted, in the measure the run was asked for: operations of a run of a
    /// number of operations (a sequential run's elapsed time is virtual time, not how long it ran), seconds of a run
    /// by time.
    /// </summary>
    internal static string InterruptedLine(StressReport report, StressSettings settings, long plannedOperations) =>
        (plannedOperations > 0
            ? string.Create(CultureInfo.InvariantCulture, $"vapic stress: interrupted after {report.Operations:N0} of {plannedOperations:N0} operations")
            : string.Create(CultureInfo.InvariantCulture, $"vapic stress: interrupted after {report.ElapsedSeconds:0.0} s of {settings.Duration.TotalSeconds:0.###} s"))
        + "; the report and its checks cover the operations that ran";

    private static async Task<StressReport> WithProgressAsync(StressEngine engine, StressSettings settings, IAnsiConsole console, CancellationToken ct)
    {
        StressReport? report = null;
        await console.Status().StartAsync("starting", async ctx =>
        {
            var run = engine.RunAsync(ct);
            while (!run.IsCompleted)
            {
                await Task.WhenAny(run, Task.Delay(250, CancellationToken.None)).ConfigureAwait(false);
                var (ops, exits) = engine.Progress;
                ctx.Status(engine.Phase switch
                {
                    // The time counts from the first operation: making 4096 vCPUs is not part of the run's seconds.
                    StressPhase.Creating => "creating " + Plural.Count(settings.Vms, "VM") + " of " + Plural.Count(settings.Vcpus, "vCPU"),
                    StressPhase.Running => ProgressLine(settings, engine.Running, ops, exits, engine.PlannedOperations),
                    _ => "checking the invariants after " + Plural.Count(ops, "operation", format: "N0"),
                });
            }
            report = await run.ConfigureAwait(false);
        }).ConfigureAwait(false);
        return report!;
    }

    /// <summary>
    /// The progress line: elapsed time, out of the run's duration when it runs by time (as given: 1.5 s, not a
    /// rounded 2 s, nor 0 s for --seconds 0.3), operations, out of those planned when it runs by count, and rates in
    /// the report's units (a debug build's 30 k ops/s, not 0.03 M).
    /// </summary>
    internal static string ProgressLine(StressSettings settings, TimeSpan elapsed, long operations, long exits, long planned)
    {
        var s = Math.Max(elapsed.TotalSeconds, 1e-3);
        var of = planned > 0 ? " of " + planned.ToString("N0", CultureInfo.InvariantCulture) : "";
        var limit = settings.Sequential || settings.Operations > 0 ? "" : " (of " + settings.Duration.TotalSeconds.ToString("0.#######", CultureInfo.InvariantCulture) + " s)";
        return string.Format(CultureInfo.InvariantCulture, "{0:F1} s{1}, {2:N0}{3} operations, {4} ops/s, {5} exits/s",
            elapsed.TotalSeconds, limit, operations, of, StressOutput.Rate(operations / s), StressOutput.Rate(exits / s));
    }
}
