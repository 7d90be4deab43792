using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Runtime.InteropServices;
using Akka.Configuration;
using Serilog;
using Spectre.Console;
using VApicActors.Actors;
using VApicActors.Host.Bench;
using VApicActors.Host.Client;
using VApicActors.Host.Cluster;
using VApicActors.Host.Configuration;
using VApicActors.Host.Hosting;
using VApicActors.Host.Scale;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Service;
using VApicActors.Host.Simulation;
using VApicActors.Host.Stress;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.Cli;

/// <summary>
/// The <c>vapic</c> command line. With no command it runs the default simulation; <c>run FILE...</c> runs
/// scenario scripts; <c>serve</c> runs the simulation service and <c>client</c> talks to it. Exit codes: 0 success, 1 failed expectations or a failed simulation, 2 a usage,
/// configuration or script error, or a trace that could not be written, 130 interrupted, 141 standard output is a pipe
/// whose reader has gone (<see cref="StandardOutput"/>).
/// </summary>
public sealed class VapicCommandLine
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;
    private const int RedirectedWidth = 120;

    private readonly TextWriter _output;
    private readonly TextWriter _error;
    private readonly Func<TextReader> _input;

    private readonly Option<string?> _config = new("--config")
    {
        Description = "HOCON file laid over the defaults (hocon/*.hocon beside the binary): it needs only the keys it changes",
        HelpName = "FILE",
        Recursive = true,
    };
    private readonly Option<string?> _trace = new("--trace")
    {
        Description = "Write the message trace (compact JSON) to FILE; overrides vapic.trace.file and turns the trace on",
        HelpName = "FILE",
    };
    private readonly Option<bool> _noTrace = new("--no-trace")
    {
        Description = "Do not write a trace (vapic.trace.enabled = off)",
    };
    private readonly Option<string?> _traceFilter = new("--trace-filter")
    {
        Description = "Serilog expression selecting trace events, e.g. \"ApicId = 1 and Vector = 0x41\" (vapic.trace.filter)",
        HelpName = "EXPR",
    };
    private readonly Option<bool> _verbose = new("--verbose", "-v")
    {
        Description = "Log more: debug output from the host and the actors on standard error",
        Recursive = true,
    };

    private readonly Option<int?> _vcpus = new("--vcpus") { Description = "Number of vCPUs (vapic.simulation.vcpus)", HelpName = "N" };
    private readonly Option<string?> _mode = new("--mode") { Description = "xapic or x2apic (vapic.simulation.mode)" };
    private readonly Option<string?> _apicIds = new("--apic-ids") { Description = "Initial APIC IDs, comma-separated, e.g. 0,2,4,6 (vapic.simulation.apic-ids)", HelpName = "A,B,..." };
    private readonly Option<string?> _boot = new("--boot") { Description = "bsp (INIT/SIPI bring-up) or all (vapic.simulation.boot)" };
    private readonly Option<string?> _bringUp = new("--bring-up")
    {
        Description = "serial or parallel: with --boot bsp, wake the APs one at a time or all first, as Linux's parallel bring-up (vapic.simulation.bring-up)",
    };
    private readonly Option<string?> _x2ApicDestinations = new("--x2apic-destinations")
    {
        Description = "cluster or physical: how an x2APIC guest addresses an IPI to one CPU (vapic.simulation.x2apic-destinations)",
    };
    private readonly Option<long?> _timerHz = new("--timer-hz") { Description = "APIC timer input clock in Hz (vapic.simulation.timer-hz)", HelpName = "HZ" };
    private readonly Option<long?> _tscHz = new("--tsc-hz") { Description = "TSC frequency in Hz (vapic.simulation.tsc-hz)", HelpName = "HZ" };
    private readonly Option<string?> _duration = new("--duration") { Description = "Virtual time of the workload, e.g. 1s or 250ms (vapic.simulation.duration)", HelpName = "TIME" };
    private readonly Option<string?> _tickPeriod = new("--tick-period") { Description = "TSC-deadline tick period, e.g. 4ms (vapic.simulation.tick-period)", HelpName = "TIME" };
    private readonly Option<int?> _ipiRate = new("--ipi-rate") { Description = "IPIs per virtual second over the VM (vapic.simulation.ipi-rate-hz)", HelpName = "HZ" };
    private readonly Option<int?> _seed = new("--seed") { Description = "Seed of the workload's pseudo-random choices (vapic.simulation.seed)", HelpName = "N" };

    private readonly Option<string?> _junit = new("--junit")
    {
        Description = "Also write the results as a JUnit XML report to FILE, for CI: a testsuite per script, a testcase per expectation",
        HelpName = "FILE",
    };

    private readonly Argument<string[]> _files = new("FILE")
    {
        Description = "Scenario scripts (.vapic) to run, each from a fresh VM; - reads a script from standard input",
        Arity = ArgumentArity.OneOrMore,
    };

    public VapicCommandLine(TextWriter output, TextWriter error)
        : this(output, error, () => Console.In)
    {
    }

    /// <summary>A command line whose <c>client</c> (given no file) and <c>run -</c> read scripts from <paramref name="input"/>.</summary>
    public VapicCommandLine(TextWriter output, TextWriter error, Func<TextReader> input)
    {
        _output = output;
        _error = error;
        _input = input;
        Root = BuildRoot();
    }

    public RootCommand Root { get; }


    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    public async Task<int> InvokeAsync(string[] args, CancellationToken cancellationToken = default)
    {
        // No response files: an argument starting with '@' is a value (a filter such as "@m like '%IPI%'"), not a file to expand.
        var parse = Root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var unknownOptions = UnknownOptions(parse);
        if (parse.Action is ParseErrorAction || unknownOptions.Count > 0)
        {
            // An unknown option in the place of a file is the mistake; the errors that follow from it (a real file left
            // over, "no such file" for the option) would only blame the wrong word.
            var messages = unknownOptions.Count > 0
                ? unknownOptions.Select(o => $"Unrecognized command or argument '{o}'{Suggestions.Hint(o, WordsOf(parse.CommandResult.Command))}")
                : ParseErrorMessages(parse);
            foreach (var message in messages)
            {
                await _error.WriteLineAsync($"vapic: {message}").ConfigureAwait(false);
            }
            await _error.WriteLineAsync($"Run '{CommandPath(parse.CommandResult)} --help' for usage.").ConfigureAwait(false);
            return ExitUsage;
        }
        if (EmptyArgument(parse) is { } empty)
        {
            // An empty word where a file goes ("$SCRIPT" unset): .NET's file API throws on it rather than say "no such file".
            await _error.WriteLineAsync($"vapic: {empty}: the file name is empty").ConfigureAwait(false);
            await _error.WriteLineAsync($"Run '{CommandPath(parse.CommandResult)} --help' for usage.").ConfigureAwait(false);
            return ExitUsage;
        }
        if (parse.Action is not AsynchronousCommandLineAction)
        {
            // A command that runs to its end at once (the trace and state tools): Ctrl-C simply ends the process.
            return await InvokeWritingAsync(parse, new InvocationConfiguration
            {
                Output = _output,
                Error = _error,
                ProcessTerminationTimeout = null,
                EnableDefaultExceptionHandler = false,
            }, cancellationToken).ConfigureAwait(false);
        }
        // The first Ctrl-C or SIGTERM cancels the command's token, and the command finishes what it owes (stress drains,
        // checks and reports; a service says goodbye to its sessions; a simulation flushes its trace) before the process
        // ends. A second one ends the process at once.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnSignal(PosixSignalContext context)
        {
            if (!stop.IsCancellationRequested)
            {
                context.Cancel = true;
                stop.Cancel();
            }
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        var invocation = new InvocationConfiguration
        {
            Output = _output,
            Error = _error,
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await InvokeWritingAsync(parse, invocation, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // A command that gave up where it was (a client's script, a scale run) rather than finishing early.
            await _error.WriteLineAsync("vapic: interrupted").ConfigureAwait(false);
            return VapicHost.ExitInterrupted;
        }
    }

    /// <summary>
    /// Words the parser took for file arguments that look like options (<c>--vcpus</c>, <c>-q</c>) and name no file:
    /// options the command does not have. A lone <c>-</c> (standard input) and an existing file are arguments.
    /// </summary>
    private static List<string> UnknownOptions(ParseResult parse) =>
        parse.CommandResult.Children.OfType<ArgumentResult>()
            .SelectMany(a => a.Tokens)
            .Select(t => t.Value)
            .Where(v => v.Length > 1 && v[0] == '-' && !File.Exists(v) && !Directory.Exists(v))
            .ToList();

    private const string Unrecognized = "Unrecognized command or argument '";

    private const string RequiredCommand = "Required command was not provided";

    /// <summary>
    /// The parser's errors, each with its hint. A mistyped subcommand (<c>vapic trace frob</c>) is the cause of "Required
    /// command was not provided": that line is left out, and the unknown word's line names the nearest subcommands or,
    /// when none is near, all of them.
    /// </summary>
    private static IEnumerable<string> ParseErrorMessages(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var errors = parse.Errors.Select(e => e.Message).ToList();
        static bool IsUnrecognized(string m) => m.StartsWith(Unrecognized, StringComparison.Ordinal);
        if (!errors.Any(IsUnrecognized) || !errors.Any(m => m.StartsWith(RequiredCommand, StringComparison.Ordinal)))
        {
            return errors.Select(m => WithHint(m, command));
        }
        var list = Suggestions.OrList(command.Subcommands.Where(c => !c.Hidden).Select(c => "'" + c.Name + "'").ToList());
        string Explained(string m)
        {
            var hinted = WithHint(m, command);
            return hinted != m || !IsUnrecognized(m)
                ? hinted
                : m[..(m.IndexOf('\'', Unrecognized.Length) + 1)] + $" (the {command.Name} subcommands are {list})";
        }
        return errors
            .Where(m => !m.StartsWith(RequiredCommand, StringComparison.Ordinal))
            .OrderBy(m => IsUnrecognized(m) ? 0 : 1)
            .Select(Explained);
    }

    /// <summary>
    /// The name of a command's argument (every one names a file or folder: FILE, TRACE, STATE, SCRIPT, DIR) or of
    /// <c>--config</c> given as an empty word, or null.
    /// </summary>
    private static string? EmptyArgument(ParseResult parse)
    {
        foreach (var argument in parse.CommandResult.Children.OfType<ArgumentResult>())
        {
            if (argument.Tokens.Any(t => t.Value.Length == 0))
            {
                return argument.Argument.Name;
            }
        }
        for (SymbolResult? r = parse.CommandResult; r is CommandResult c; r = c.Parent)
        {
            foreach (var option in c.Children.OfType<OptionResult>())
            {
                if (option.Option.Name == "--config" && option.Tokens.Any(t => t.Value.Length == 0))
                {
                    return "--config";
                }
            }
        }
        return null;
    }

    /// <summary>A parser's "Unrecognized command or argument 'X'." with the subcommands or options X was probably meant to be.</summary>
    private static string WithHint(string message, Command command)
    {
        var end = message.StartsWith(Unrecognized, StringComparison.Ordinal) ? message.IndexOf('\'', Unrecognized.Length) : -1;
        if (end < 0)
        {
            return message;
        }
        var word = message[Unrecognized.Length..end];
        return Suggestions.Hint(word, WordsOf(command)) is { Length: > 0 } hint ? message[..(end + 1)] + hint : message;
    }

    /// <summary>What may follow <paramref name="command"/>: its subcommands and its options, by every name.</summary>
    private static IEnumerable<string> WordsOf(Command command) =>
        command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name)
            .Concat(command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)));

    /// <summary>The command as typed, for the usage hint: <c>vapic trace view</c>.</summary>
    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? r = command; r is CommandResult c; r = c.Parent)
        {
            if (c.Command is not RootCommand)
            {
                names.Insert(0, c.Command.Name);
            }
        }
        return string.Join(' ', ["vapic", .. names]);
    }

    /// <summary>
    /// Runs the command and flushes what it printed. Standard output that turns out to be a pipe nobody reads any more
    /// stops the command where it was: exit 141 and nothing said, on standard error either, as for <c>cat</c> in the same
    /// place. Any other failure is reported in one line.
    /// </summary>
    private async Task<int> InvokeWritingAsync(ParseResult parse, InvocationConfiguration invocation, CancellationToken cancellationToken)
    {
        try
        {
            var code = await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
            await _output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            return code;
        }
        catch (StandardOutputClosedException)
        {
            return StandardOutput.ExitBrokenPipe;
        }
        catch (Exception e) when (e is not OutOfMemoryException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            await _error.WriteLineAsync("vapic: unexpected error: " + e).ConfigureAwait(false);
            return ExitFailed;
        }
    }

    private RootCommand BuildRoot()
    {
        _mode.AcceptOnly("xapic", "x2apic");
        _boot.AcceptOnly("all", "bsp");
        _bringUp.AcceptOnly("serial", "parallel");
        _x2ApicDestinations.AcceptOnly("cluster", "physical");

        var root = new RootCommand(
            "vapic: a simulator of the x86 local APICs of a multi-vCPU VM, one actor per vCPU.\n" +
            "With no command it runs the default simulation: a VM brought up the way Linux does it, then one " +
            "virtual second of timer ticks and IPIs, and prints a summary.");
        foreach (var o in new Option[] { _config, _trace, _noTrace, _traceFilter, _verbose, _vcpus, _mode, _apicIds, _boot, _bringUp, _x2ApicDestinations, _timerHz, _tscHz, _duration, _tickPeriod, _ipiRate, _seed })
        {
            root.Options.Add(o);
        }
        root.SetAction((parse, ct) => SimulateAsync(parse, ct));

        var run = new Command("run", "Run scenario scripts (.vapic): prints each failed expectation and 'N passed, M failed'; exit 0 all held, 1 a failure, 2 a script error");
        run.Arguments.Add(_files);
        run.Options.Add(_junit);
        run.SetAction((parse, ct) => RunScriptsAsync(parse, ct));
        root.Subcommands.Add(run);

        root.Subcommands.Add(ServeCommand.Create(
            _config,
            (parse, front, work, ct) => WithHostAsync(parse, ServeOverrides(parse), (_, system, trace, c) => work(system, trace, c), ct, front),
            _output,
            _error));
        root.Subcommands.Add(ClientCommand.Create(_output, _error, _input));
        root.Subcommands.Add(ClusterCommand.Create(_output, _error));
        root.Subcommands.Add(StressCommand.Create(_config, _trace));
        root.Subcommands.Add(BenchCommand.Create(_config));
        root.Subcommands.Add(ScaleCommand.Create(_config));
        root.Subcommands.Add(TraceCommands.CreateTrace(_output, _error));
        root.Subcommands.Add(TraceCommands.CreateReplay(_output, _error));
        root.Subcommands.Add(StateCommands.Create(
            (parse, work, ct) => WithHostAsync(parse, CommonOverrides(parse), (_, system, trace, c) => work(system, trace, c), ct),
            _output,
            _error,
            _input));
        // The trace options belong to the commands that simulate with a trace, and only to them: elsewhere they would
        // be accepted and do nothing.
        foreach (var command in new[] { run, Subcommand(root, "serve"), Subcommand(root, "state", "save"), Subcommand(root, "state", "restore") })
        {
            command.Options.Add(_trace);
            command.Options.Add(_noTrace);
            command.Options.Add(_traceFilter);
        }
        foreach (var command in new[] { root, run, Subcommand(root, "serve"), Subcommand(root, "state", "save"), Subcommand(root, "state", "restore") })
        {
            // One says where the trace goes, the other that there is none: which one won would be a guess.
            command.Validators.Add(r =>
            {
                if (r.GetResult(_trace) is not null && r.GetResult(_noTrace) is not null)
                {
                    r.AddError("give --trace FILE or --no-trace, not both");
                }
            });
        }
        Subcommand(root, "stress").Options.Add(_trace);
        UseNumberParsers(root);
        return root;
    }

    private static Command Subcommand(Command command, params string[] path) =>
        path.Aggregate(command, (c, name) => c.Subcommands.Single(s => s.Name == name));

    /// <summary>
    /// Gives every number option of <paramref name="command"/> and its subcommands (one without a parser of its own) a
    /// parser whose error says what was wrong in words, "--vcpus: 'abc' is not a whole number", where System.CommandLine
    /// would name the .NET type it expected (System.Nullable`1[System.Int32]).
    /// </summary>
    internal static void UseNumberParsers(Command command)
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<int> o:
                    UseParser(o);
                    break;
                case Option<int?> o:
                    UseNullableParser(o);
                    break;
                case Option<long> o:
                    UseParser(o);
                    break;
                case Option<long?> o:
                    UseNullableParser(o);
                    break;
                case Option<double> o:
                    UseParser(o);
                    break;
                case Option<double?> o:
                    UseNullableParser(o);
                    break;
            }
        }
        foreach (var subcommand in command.Subcommands)
        {
            UseNumberParsers(subcommand);
        }
    }

    private static void UseParser<T>(Option<T> option)
        where T : struct, System.Numerics.INumber<T>, System.Numerics.IMinMaxValue<T> =>
        option.CustomParser ??= r => ParseNumber<T>(r, option.Name) ?? default;

    private static void UseNullableParser<T>(Option<T?> option)
        where T : struct, System.Numerics.INumber<T>, System.Numerics.IMinMaxValue<T> =>
        option.CustomParser ??= r => ParseNumber<T>(r, option.Name);

    private static T? ParseNumber<T>(ArgumentResult result, string option)
        where T : struct, System.Numerics.INumber<T>, System.Numerics.IMinMaxValue<T>
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }
        var text = result.Tokens[^1].Value;
        var whole = typeof(T) != typeof(double);
        var styles = whole ? NumberStyles.AllowLeadingSign : NumberStyles.Float;
        if (T.TryParse(text, styles, CultureInfo.InvariantCulture, out var value) && (whole || double.IsFinite(double.CreateChecked(value))))
        {
            return value;
        }
        // A whole number beyond what the option's type holds is far outside the option's own range, which the settings
        // check names for any value the type does hold.
        result.AddError(whole && System.Numerics.BigInteger.TryParse(text, styles, CultureInfo.InvariantCulture, out var big)
            ? $"{option}: '{text}' is {(big.Sign < 0 ? "too small" : "too large")}"
            : $"{option}: '{text}' is not {(whole ? "a whole number" : "a number")}");
        return null;
    }

    private async Task<int> SimulateAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var overrides = CommonOverrides(parse);
        AddIf(overrides, parse.GetValue(_vcpus), v => SettingOverride.Number("vapic.simulation.vcpus", v, "--vcpus"));
        AddIf(overrides, parse.GetValue(_mode), v => SettingOverride.Text("vapic.simulation.mode", v, "--mode"));
        AddIf(overrides, parse.GetValue(_apicIds), v => SettingOverride.List("vapic.simulation.apic-ids", v.Split(',', StringSplitOptions.TrimEntries), "--apic-ids"));
        AddIf(overrides, parse.GetValue(_boot), v => SettingOverride.Text("vapic.simulation.boot", v, "--boot"));
        AddIf(overrides, parse.GetValue(_bringUp), v => SettingOverride.Text("vapic.simulation.bring-up", v, "--bring-up"));
        AddIf(overrides, parse.GetValue(_x2ApicDestinations), v => SettingOverride.Text("vapic.simulation.x2apic-destinations", v, "--x2apic-destinations"));
        AddIf(overrides, parse.GetValue(_timerHz), v => SettingOverride.Number("vapic.simulation.timer-hz", v, "--timer-hz"));
        AddIf(overrides, parse.GetValue(_tscHz), v => SettingOverride.Number("vapic.simulation.tsc-hz", v, "--tsc-hz"));
        AddIf(overrides, parse.GetValue(_duration), v => SettingOverride.Text("vapic.simulation.duration", v, "--duration"));
        AddIf(overrides, parse.GetValue(_tickPeriod), v => SettingOverride.Text("vapic.simulation.tick-period", v, "--tick-period"));
        AddIf(overrides, parse.GetValue(_ipiRate), v => SettingOverride.Number("vapic.simulation.ipi-rate-hz", v, "--ipi-rate"));
        AddIf(overrides, parse.GetValue(_seed), v => SettingOverride.Number("vapic.simulation.seed", v, "--seed"));

        return await WithHostAsync(parse, overrides, async (settings, system, trace, ct) =>
        {
            var simulationSettings = settings.Simulation;
            SimulationReport report;
            try
            {
                await using var vm = await VmHandle.CreateAsync(system, DefaultSimulation.Spec("default", simulationSettings), trace).ConfigureAwait(false);
                report = await new DefaultSimulation(vm, simulationSettings).RunAsync(ct).ConfigureAwait(false);
            }
            catch (SimulationException e)
            {
                await _error.WriteLineAsync($"vapic: the simulation failed: {e.Message}").ConfigureAwait(false);
                return ExitFailed;
            }

            trace?.Dispose();
            SummaryPrinter.Print(CreateConsole(), report, trace?.FilePath, trace?.Written ?? 0, trace?.Failure?.Message);
            return report.AllRunning ? ExitOk : ExitFailed;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> RunScriptsAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var files = parse.GetValue(_files) ?? [];
        var junit = parse.GetValue(_junit);
        return await WithHostAsync(parse, CommonOverrides(parse), async (_, system, trace, ct) =>
        {
            var results = junit is null ? null : new List<ScenarioFileResult>();
            var runner = new ScenarioRunner(system, trace, files.Contains(ScenarioRunner.StandardInput) ? _input() : null) { Results = results };
            var summary = await runner.RunAsync(files, _output, _error, ct).ConfigureAwait(false);
            var exit = summary.ExitCode;
            if (trace is not null)
            {
                trace.Dispose();
                if (trace.Failure is null)
                {
                    await _error.WriteLineAsync($"trace: {Plural.Count(trace.Written, "event")} written to {trace.FilePath}").ConfigureAwait(false);
                }
            }
            return await WriteJUnitAsync(junit, results, ct).ConfigureAwait(false) ? exit : ExitUsage;
        }, cancellationToken, beforeTrace: async settings =>
        {
            // The trace file is emptied before the scripts are read, and the report written over whatever was at its
            // path: one that names a script of the run would lose that script.
            var traceFile = settings.Trace.Enabled ? settings.Trace.File : null;
            if (SameFileAsAny(junit, files) is { } scriptForReport)
            {
                await _error.WriteLineAsync($"vapic: the report would be written over the script {scriptForReport}: give --junit another file").ConfigureAwait(false);
                return ExitUsage;
            }
            if (traceFile is not null && SameFileAsAny(junit, [traceFile]) is not null)
            {
                await _error.WriteLineAsync($"vapic: the report and the trace cannot both go to {junit}: give --junit or --trace another file").ConfigureAwait(false);
                return ExitUsage;
            }
            // `run --junit a.vapic b.vapic` (FILE forgotten) takes a.vapic for the report: a file there that is no XML
            // is kept rather than replaced.
            if (junit is not null && HoldsSomethingElseThanXml(junit))
            {
                await _error.WriteLineAsync($"{junit}: error: cannot write the report: the file is there and is no XML report (a script?); remove it or give --junit another file").ConfigureAwait(false);
                return ExitUsage;
            }
            // A report that cannot be written stops the run before anything runs, as a trace file that cannot be.
            if (junit is not null && CommandLineFiles.CannotWrite(junit) is { } why)
            {
                await _error.WriteLineAsync($"{junit}: error: cannot write the report: {why}").ConfigureAwait(false);
                return ExitUsage;
            }
            var unreadable = files.Select(ScenarioRunner.Unreadable).ToList();
            if (files.Length == 0 || unreadable.Any(e => e is null))
            {
                return null;
            }
            // Nothing to run: no VM, and no trace file opened (that would empty the last run's trace).
            foreach (var line in unreadable)
            {
                await _error.WriteLineAsync(line).ConfigureAwait(false);
            }
            await _output.WriteLineAsync(new ScenarioRunSummary(0, 0, files.Length, []).SummaryLine).ConfigureAwait(false);
            var results = files.Zip(unreadable, (file, line) => ScenarioFileResult.Unread(file, line!, TimeSpan.Zero)).ToList();
            await WriteJUnitAsync(junit, results, cancellationToken).ConfigureAwait(false);
            return ExitUsage;
        }).ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="path"/> is a file whose text does not begin with <c>&lt;</c> (blanks and a BOM aside).</summary>
    private static bool HoldsSomethingElseThanXml(string path)
    {
        try
        {
            // Only a regular file with something in it is looked at: a device or a pipe (/dev/stdout into a pipe, say)
            // is not read, since reading it would take what is not the report's or wait for ever.
            var full = Path.GetFullPath(path);
            if (!File.Exists(full) || full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal)
                || new FileInfo(full).Length == 0)
            {
                return false;
            }
            using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            int c;
            while ((c = reader.Read()) >= 0 && char.IsWhiteSpace((char)c))
            {
            }
            return c >= 0 && c != '<';
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            // Whether it can be written is said by the check that follows.
            return false;
        }
    }

    /// <summary>The first of <paramref name="paths"/> that names the same file as <paramref name="path"/>, if any.</summary>
    private static string? SameFileAsAny(string? path, IEnumerable<string> paths) => paths.FirstOrDefault(p => CommandLineFiles.SameFile(path, p));

    /// <summary>Writes the JUnit report, if one was asked for; false (after saying why) when it could not be written.</summary>
    private async Task<bool> WriteJUnitAsync(string? path, List<ScenarioFileResult>? results, CancellationToken cancellationToken)
    {
        if (path is null || results is null)
        {
            return true;
        }
        if (await CommandLineFiles.TryWriteAllTextAsync(path, JUnitReport.ToXml(results), cancellationToken).ConfigureAwait(false) is { } why)
        {
            await _error.WriteLineAsync($"{path}: error: cannot write the report: {why}").ConfigureAwait(false);
            return false;
        }
        return true;
    }

    /// <summary>A service runs for long: it writes the message trace only when --trace names a file.</summary>
    private List<SettingOverride> ServeOverrides(ParseResult parse)
    {
        var overrides = new List<SettingOverride>();
        if (parse.GetValue(_trace) is null)
        {
            overrides.Add(SettingOverride.Flag("vapic.trace.enabled", false, "serve"));
        }
        overrides.AddRange(CommonOverrides(parse));
        return overrides;
    }

    private List<SettingOverride> CommonOverrides(ParseResult parse)
    {
        var overrides = new List<SettingOverride>();
        AddIf(overrides, parse.GetValue(_trace), v => SettingOverride.Text("vapic.trace.file", v, "--trace"));
        if (parse.GetValue(_trace) is not null)
        {
            overrides.Add(SettingOverride.Flag("vapic.trace.enabled", true, "--trace"));
        }
        if (parse.GetValue(_noTrace))
        {
            overrides.Add(SettingOverride.Flag("vapic.trace.enabled", false, "--no-trace"));
        }
        AddIf(overrides, parse.GetValue(_traceFilter), v => SettingOverride.Text("vapic.trace.filter", v, "--trace-filter"));
        if (parse.GetValue(_verbose))
        {
            overrides.Add(SettingOverride.Text("akka.loglevel", "DEBUG", "--verbose"));
        }
        return overrides;
    }

    /// <summary>
    /// Loads the settings, opens the trace file and runs <paramref name="work"/> in a started host. A command that
    /// can tell it has nothing to do says so in <paramref name="beforeTrace"/> (an exit status), which runs once the
    /// settings are known to be good and before the trace file is touched.
    /// </summary>
    private async Task<int> WithHostAsync(
        ParseResult parse,
        IReadOnlyList<SettingOverride> overrides,
        Func<VapicSettings, Akka.Actor.ActorSystem, SerilogTraceSink?, CancellationToken, Task<int>> work,
        CancellationToken cancellationToken,
        Config? front = null,
        Func<VapicSettings, Task<int?>>? beforeTrace = null)
    {
        Config config;
        VapicSettings settings;
        try
        {
            (config, settings) = HoconSettings.Load(overrides, parse.GetValue(_config), _error);
            if (front is not null)
            {
                config = front.WithFallback(config);
            }
        }
        catch (SettingsException e)
        {
            await _error.WriteLineAsync($"vapic: {e.Message}").ConfigureAwait(false);
            return ExitUsage;
        }

        LoggingConfiguration.Apply(parse.GetValue(_verbose));
        // The trace file is emptied when it is opened, before any input is read: a trace named as one of the command's
        // own files (`run a.vapic --trace a.vapic`, a state to restore) would lose it.
        var inputs = parse.CommandResult.Children.OfType<System.CommandLine.Parsing.ArgumentResult>().SelectMany(a => a.Tokens).Select(t => t.Value);
        if (settings.Trace.Enabled && SameFileAsAny(settings.Trace.File, inputs) is { } input)
        {
            await _error.WriteLineAsync($"vapic: the trace would be written over {input}, which this command reads: give --trace another file").ConfigureAwait(false);
            return ExitUsage;
        }
        if (beforeTrace is not null && await beforeTrace(settings).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        SerilogTraceSink? trace = null;
        if (settings.Trace.Enabled)
        {
            try
            {
                trace = SerilogTraceSink.Create(settings.Trace.File, settings.Trace.Filter);
            }
            catch (ArgumentException e)
            {
                await _error.WriteLineAsync($"vapic: cannot write the trace to {settings.Trace.File}: {e.Message}").ConfigureAwait(false);
                return ExitUsage;
            }
            catch (Exception e) when (CommandLineFiles.IsFileError(e))
            {
                await _error.WriteLineAsync($"vapic: cannot write the trace to {settings.Trace.File}: {CommandLineFiles.WriteReason(settings.Trace.File, e)}")
                    .ConfigureAwait(false);
                return ExitUsage;
            }
        }

        try
        {
            var code = await VapicHost.RunAsync(config, settings, (system, ct) => work(settings, system, trace, ct), _error, cancellationToken).ConfigureAwait(false);
            trace?.Dispose();
            if (trace?.Failure is { } failure)
            {
                // The command's own output has been printed; the trace it promised is not all there.
                await _error.WriteLineAsync($"vapic: writing the trace to {trace.FilePath} failed: {failure.Message}").ConfigureAwait(false);
                return code is ExitOk or ExitFailed ? ExitUsage : code;
            }
            return code;
        }
        catch (ActorSystemStartException e)
        {
            await _error.WriteLineAsync($"vapic: the actor system did not start (see the akka settings): {e.Message}").ConfigureAwait(false);
            return ExitUsage;
        }
        catch (Exception e) when (e is not (OperationCanceledException or StandardOutputClosedException))
        {
            Log.Error(e, "vapic failed");
            await _error.WriteLineAsync($"vapic: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            return ExitUsage;
        }
        finally
        {
            trace?.Dispose();
            await Log.CloseAndFlushAsync().ConfigureAwait(false);
        }
    }

    private IAnsiConsole CreateConsole()
    {
        if (ReferenceEquals(_output, Console.Out) && !Console.IsOutputRedirected)
        {
            return AnsiConsole.Console;
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(_output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = RedirectedWidth;
        return console;
    }

    private static void AddIf<T>(List<SettingOverride> overrides, T? value, Func<T, SettingOverride> make)
    {
        if (value is not null)
        {
            overrides.Add(make(value));
        }
    }

    private static void AddIf<T>(List<SettingOverride> overrides, T? value, Func<T, SettingOverride> make)
        where T : struct
    {
        if (value is { } v)
        {
            overrides.Add(make(v));
        }
    }
}
