using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Spectre.Console;
using VApicActors.Actors;
using VApicActors.Host.Cli;
using VApicActors.Host.Configuration;
using VApicActors.Host.Hosting;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Bench;

/// <summary>
/// <c>vapic bench</c>: one workload (<see cref="BenchWorkload"/>) three ways in one process — the register model on
/// one thread, APICs behind locks on one thread per core, and the actor system — at several vCPU counts; prints
/// throughput and ratios, and with <c>--json FILE</c> writes <c>designs: [{name, vcpus, opsPerSecond}]</c>.
/// Operations are exits (register accesses, acknowledges and EOIs).
/// </summary>
public static class BenchCommand
{
    private const int RedirectedWidth = 120;

    /// <param name="configFile">The root command's <c>--config</c> option.</param>
    public static Command Create(Option<string?> configFile)
    {
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to FILE", HelpName = "FILE" };
        var seconds = new Option<double?>("--seconds") { Description = "Measured time per design and vCPU count (vapic.bench.duration)", HelpName = "S" };
        var vcpus = new Option<string?>("--vcpus") { Description = "vCPU counts, comma-separated (vapic.bench.vcpus)", HelpName = "N,N,..." };
        var warmUp = new Option<double?>("--warm-up") { Description = "Time each design runs before anything is measured (vapic.bench.warm-up)", HelpName = "S" };
        var batch = new Option<string?>("--actor-exits")
        {
            Description = "How the actor design's vCPUs make their exits: per-exit (a request each), batched (one RunExits per run between two VM entries), "
                + "hosted (the vCPU runs inside its vAPIC actor) (vapic.bench.actor-exits)",
        };
        batch.AcceptOnly("per-exit", "batched", "hosted");
        var lockThreads = new Option<string?>("--lock-threads")
        {
            Description = "Threads of the lock design: 0 (one per core), 1 to 256, or per-vcpu, a thread per vCPU as hypervisors run their vCPUs (vapic.bench.threads)",
            HelpName = "N|per-vcpu",
        };
        var designs = new Option<string?>("--designs") { Description = "Designs to measure, comma-separated: direct, locks, actors, floor (vapic.bench.designs)", HelpName = "D,D,..." };
        var command = new Command("bench", "Measure one IPI-heavy workload three ways: direct calls, locks, actors");
        command.Options.Add(json);
        command.Options.Add(seconds);
        command.Options.Add(vcpus);
        command.Options.Add(warmUp);
        command.Options.Add(batch);
        command.Options.Add(designs);
        command.Options.Add(lockThreads);
        command.SetAction(async (parse, ct) =>
        {
            BenchSettings settings;
            Config config;
            try
            {
                config = StressSettings.LoadConfig(parse.GetValue(configFile), Console.Error);
                AkkaSettingsCheck.ValidateVcpuDispatcher(config);
                settings = BenchSettings.Create(config);
                if (parse.GetValue(seconds) is double s)
                {
                    if (s is < 0.1 or > 60)
                    {
                        throw new StressSettingsException("--seconds", "must be 0.1 to 60");
                    }
                    settings = settings with { Duration = TimeSpan.FromSeconds(s) };
                }
                if (parse.GetValue(warmUp) is double w)
                {
                    if (w is < 0 or > 60)
                    {
                        throw new StressSettingsException("--warm-up", "must be 0 to 60");
                    }
                    settings = settings with { WarmUp = TimeSpan.FromSeconds(w) };
                }
                if (parse.GetValue(batch) is string b)
                {
                    settings = settings with { ActorExits = BenchSettings.ParseActorExits(b)!.Value };
                }
                if (parse.GetValue(lockThreads) is string t)
                {
                    settings = settings with { Threads = BenchSettings.ParseThreads(t, "--lock-threads") };
                }
                if (parse.GetValue(designs) is string names)
                {
                    settings = settings with { Designs = BenchSettings.ParseDesigns(names, "--designs") };
                }
                if (parse.GetValue(vcpus) is string list)
                {
                    settings = settings with { Vcpus = BenchSettings.ParseCounts(list, "--vcpus") };
                }
            }
            catch (Exception e) when (e is StressSettingsException or SettingsException or IOException or ConfigurationException)
            {
                await Console.Error.WriteLineAsync("vapic bench: " + e.Message).ConfigureAwait(false);
                return StressCommand.ExitUsage;
            }
            var jsonFile = parse.GetValue(json);
            if (jsonFile is not null && CommandLineFiles.CannotWrite(jsonFile) is string cannot)
            {
                await Console.Error.WriteLineAsync("vapic bench: --json: cannot write " + jsonFile + ": " + cannot).ConfigureAwait(false);
                return StressCommand.ExitUsage;
            }
            var machine = MachineInfo.Current();
            var results = await RunAsync(settings, AnsiConsole.Console, config, ct).ConfigureAwait(false);
            AnsiConsole.Console.WriteLine(machine.Describe());
            if (MachineInfo.DebugBuildWarning("bench") is { } warning)
            {
                AnsiConsole.Console.WriteLine(warning);
            }
            // (Asked once: the JSON and the exit status say the same.)
            var interrupted = ct.IsCancellationRequested;
            if (jsonFile is not null && await CommandLineFiles.TryWriteAllTextAsync(jsonFile, ToJson(results, settings, machine, interrupted), CancellationToken.None)
                .ConfigureAwait(false) is string why)
            {
                await Console.Error.WriteLineAsync("vapic bench: --json: cannot write " + jsonFile + ": " + why).ConfigureAwait(false);
                return StressCommand.ExitUsage;
            }
            if (interrupted)
            {
                await Console.Error.WriteLineAsync("vapic bench: interrupted; the results are those of the runs that finished").ConfigureAwait(false);
                return VapicHost.ExitInterrupted;
            }
            return StressCommand.ExitOk;
        });
        return command;
    }

    /// <param name="config">The application's configuration, for the actor system's settings in it (<see cref="VcpuDispatcher"/>).</param>
    /// <param name="cancellationToken">Stops the bench after the run in progress; the runs that finished are printed and returned.</param>
    public static async Task<IReadOnlyList<BenchResult>> RunAsync(BenchSettings settings, IAnsiConsole console, Config? config = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(console);
        var results = new List<BenchResult>();
        var warmUp = TimeSpan.FromTicks(settings.Duration.Ticks / 5);
        var system = StressCommand.CreateSystem("vapic-bench", config);
        try
        {
            async Task<BenchResult> Run(string design, int vcpus, TimeSpan duration) => design switch
            {
                "direct" => DirectDesign.Run(vcpus, duration),
                "locks" => LockDesign.Run(vcpus, duration, settings.LockThreads(vcpus)),
                "floor" => await FloorDesign.RunAsync(system, vcpus, duration).ConfigureAwait(false),
                _ => await ActorDesign.RunAsync(system, vcpus, duration, settings.ActorExits).ConfigureAwait(false),
            };
            if (settings.WarmUp > TimeSpan.Zero)
            {
                // Once per process, the same for every design: the measured runs then find the code optimized.
                foreach (var design in settings.Designs.TakeWhile(_ => !cancellationToken.IsCancellationRequested))
                {
                    await Run(design, settings.Vcpus[0], settings.WarmUp).ConfigureAwait(false);
                }
            }
            foreach (var n in settings.Vcpus)
            {
                foreach (var design in settings.Designs.TakeWhile(_ => !cancellationToken.IsCancellationRequested))
                {
                    await Run(design, n, warmUp).ConfigureAwait(false);
                    if (!cancellationToken.IsCancellationRequested)
                    {
                        results.Add(await Run(design, n, settings.Duration).ConfigureAwait(false));
                    }
                }
            }
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
        Print(console, results, settings.LockThreads(settings.Vcpus[0]), settings);
        return results;
    }

    public static void Print(IAnsiConsole console, IReadOnlyList<BenchResult> results, int threads, BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(settings);
        // The title speaks of the lock design's threads and the actors' exits only when that design is measured.
        var measured = settings.Designs.ToHashSet(StringComparer.Ordinal);
        var table = new Table().Title("bench: exits and IPIs per second ("
            + (!measured.Contains("locks") ? "" : settings.Threads == BenchSettings.ThreadPerVcpu ? "locks: a thread per vCPU; " : "locks: " + threads + " threads; ") + Environment.ProcessorCount + " cores; warm-up "
            + settings.WarmUp.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture) + " s per design, then "
            + (settings.Duration.TotalSeconds / 5).ToString("0.##", CultureInfo.InvariantCulture) + " s before each run"
            + (measured.Contains("actors") ? "; actors: " + BenchSettings.Name(settings.ActorExits) + " exits" : "") + ")");
        // Only the designs measured have columns, and a ratio only when both its designs were measured; a design that
        // has no result at some vCPU count (an interrupted bench) shows as a dash there, and so do the ratios that need it.
        var columns = new List<(string Header, Func<Func<string, BenchResult?>, string> Cell)>();
        foreach (var design in BenchSettings.DesignNames.Where(measured.Contains))
        {
            columns.Add((design + " exits/s", of => M(of(design)?.ExitsPerSecond)));
        }
        if (measured.Contains("actors"))
        {
            columns.Add(("actors IPIs/s", of => M(of("actors")?.IpisPerSecond)));
            foreach (var other in new[] { "locks", "direct", "floor" }.Where(measured.Contains))
            {
                columns.Add(("actors/" + other, of => Ratio(of("actors")?.ExitsPerSecond, of(other)?.ExitsPerSecond)));
            }
        }
        if (measured.Contains("floor") && measured.Contains("locks"))
        {
            columns.Add(("floor/locks", of => Ratio(of("floor")?.ExitsPerSecond, of("locks")?.ExitsPerSecond)));
        }
        // Into a file or a pipe the console is 80 columns wide, which cuts the ratio headers to "actors/l…"; the other
        // commands' tables get a fixed width there too, and this one as much more as its columns need (every design
        // and its ratios: ten columns) so that no header is cut.
        var headers = columns.Select(c => c.Header).Prepend("vCPUs").ToList();
        var wholeHeaders = headers.Sum(h => h.Length + 3) + 1;
        if (!console.Profile.Capabilities.Interactive && console.Profile.Width < Math.Max(RedirectedWidth, wholeHeaders))
        {
            console.Profile.Width = Math.Max(RedirectedWidth, wholeHeaders);
        }
        table.AddColumn(new TableColumn("vCPUs").RightAligned());
        foreach (var (header, _) in columns)
        {
            table.AddColumn(new TableColumn(header).RightAligned());
        }
        foreach (var row in Rows(results))
        {
            BenchResult? Of(string design) => row.FirstOrDefault(r => r.Design == design);
            table.AddRow([row[0].Vcpus.ToString(CultureInfo.InvariantCulture), .. columns.Select(c => c.Cell(Of))]);
        }
        console.Write(table);
    }

    /// <summary>
    /// The results in the order they were measured, one row per entry of the vCPU list: a count listed twice
    /// (<c>--vcpus 64,64,256</c>, to see a run that finds the code already compiled) gives two rows, each with its own
    /// runs, rather than one row that shows only the first.
    /// </summary>
    private static List<List<BenchResult>> Rows(IReadOnlyList<BenchResult> results)
    {
        var rows = new List<List<BenchResult>>();
        foreach (var result in results)
        {
            if (rows.Count == 0 || rows[^1][0].Vcpus != result.Vcpus || rows[^1].Exists(r => r.Design == result.Design))
            {
                rows.Add([]);
            }
            rows[^1].Add(result);
        }
        return rows;
    }

    /// <param name="machine">Where and how the runs were made, when known (<c>machine</c> in the JSON).</param>
    /// <param name="interrupted">The bench was interrupted: <paramref name="results"/> are those of the runs that finished.</param>
    public static string ToJson(IReadOnlyList<BenchResult> results, BenchSettings settings, MachineInfo? machine = null, bool interrupted = false) =>
        JsonSerializer.Serialize(new
    {
        machine,
        interrupted,
        warmUpSeconds = settings.WarmUp.TotalSeconds,
        actorExits = BenchSettings.Name(settings.ActorExits),
        designs = results.Select(r => new
        {
            name = r.Design,
            vcpus = r.Vcpus,
            threads = r.Threads > 0 ? r.Threads : (int?)null,
            opsPerSecond = r.ExitsPerSecond,
            ipisPerSecond = r.IpisPerSecond,
            exits = r.Exits,
            ipis = r.Ipis,
            seconds = r.Elapsed.TotalSeconds,
            cpuSeconds = r.CpuTime.TotalSeconds,
            cpuNsPerExit = r.CpuNsPerExit,
        }),
    }, new JsonSerializerOptions
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    });

    private static string M(double? perSecond) => perSecond is double r ? (r / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " M" : "-";

    private static string Ratio(double? of, double? to) => of is double a && to is double b && b > 0
        ? (a / b).ToString("F2", CultureInfo.InvariantCulture) + "x"
        : "-";
}
