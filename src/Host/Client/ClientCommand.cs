using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Service;

namespace VApicActors.Host.Client;

/// <summary>
/// <c>vapic client [--connect HOST:PORT] [FILE]</c>: sends a script (or standard input) to a running service
/// and prints the answers; exit status as <c>vapic run</c> (0 every expectation held, 1 one failed, 2 a script
/// or connection error). With <c>--bench</c> it measures the service instead (requests per second and round
/// trip percentiles, for 1 and 16 sessions unless <c>--sessions</c> says otherwise).
/// </summary>
public static class ClientCommand
{
    public const string DefaultEndpoint = "127.0.0.1:7411";
    public const int DefaultBenchRequests = 20_000;
    public const int BenchWarmup = 2_000;
    public static readonly int[] DefaultBenchSessions = [1, 16];

    public static Command Create(TextWriter output, TextWriter error, Func<TextReader> input)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(input);

        var connect = new Option<string>("--connect")
        {
            Description = "The service to connect to",
            HelpName = "HOST:PORT",
            DefaultValueFactory = _ => DefaultEndpoint,
        };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only failures, errors and the summary, as 'vapic run' does" };
        var echo = new Option<bool>("--echo", "-e") { Description = "Print each request, as '> LINE', before its answer: a transcript of the session" };
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for each answer (1 to 3600)",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => 60,
        };
        timeout.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && (!int.TryParse(r.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) || s < 1 || s > 3600))
            {
                r.AddError("--timeout must be a whole number of seconds from 1 to 3600");
            }
        });
        var bench = new Option<bool>("--bench") { Description = "Measure the service: lock-step requests, requests/s and round-trip p50/p99" };
        var sessions = new Option<int?>("--sessions") { Description = "With --bench: concurrent sessions (1 to 256; default: 1, then 16)", HelpName = "N" };
        sessions.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && (!int.TryParse(r.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 1 || n > 256))
            {
                r.AddError("--sessions must be a whole number from 1 to 256");
            }
        });
        var requests = new Option<int>("--requests")
        {
            Description = "With --bench: timed requests per session (1 to 10000000)",
            HelpName = "N",
            DefaultValueFactory = _ => DefaultBenchRequests,
        };
        requests.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && (!int.TryParse(r.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 1 || n > 10_000_000))
            {
                r.AddError("--requests must be a whole number from 1 to 10000000");
            }
        });
        var file = new Argument<string?>("FILE")
        {
            Description = "Scenario script to send; '-' or nothing reads standard input",
            Arity = ArgumentArity.ZeroOrOne,
        };

        var command = new Command("client", "Send a scenario script to a running 'vapic serve' and print the answers; exit 0 all expectations held, 1 a failure, 2 a script or connection error");
        foreach (var option in new Option[] { connect, quiet, echo, timeout, bench, sessions, requests })
        {
            command.Options.Add(option);
        }
        command.Arguments.Add(file);
        command.SetAction(async (parse, ct) =>
        {
            var connectText = parse.GetValue(connect) ?? DefaultEndpoint;
            if (!HostPort.TryParseToConnect(connectText, out var endpoint, out var problem))
            {
                await error.WriteLineAsync($"vapic: --connect: {problem}").ConfigureAwait(false);
                return ScenarioRunSummary.ExitError;
            }
            if (parse.GetValue(echo) && (parse.GetValue(quiet) || parse.GetValue(bench)))
            {
                await error.WriteLineAsync($"vapic: --echo prints every request with its answer: it cannot go with {(parse.GetValue(quiet) ? "--quiet" : "--bench")}").ConfigureAwait(false);
                return ScenarioRunSummary.ExitError;
            }
            if (!parse.GetValue(bench))
            {
                // Options that only shape a measurement would otherwise be dropped without a word.
                foreach (var benchOnly in new Option[] { sessions, requests })
                {
                    if (parse.GetResult(benchOnly) is { Implicit: false })
                    {
                        await error.WriteLineAsync($"vapic: {benchOnly.Name} applies only with --bench").ConfigureAwait(false);
                        return ScenarioRunSummary.ExitError;
                    }
                }
            }
            else if (parse.GetValue(file) is { } script)
            {
                await error.WriteLineAsync($"vapic: --bench sends requests of its own: it does not take a script ({script})").ConfigureAwait(false);
                return ScenarioRunSummary.ExitError;
            }
            if (parse.GetValue(bench))
            {
                var counts = parse.GetValue(sessions) is int n ? [n] : DefaultBenchSessions;
                return await BenchAsync(endpoint, counts, parse.GetValue(requests), TimeSpan.FromSeconds(parse.GetValue(timeout)), output, error, ct).ConfigureAwait(false);
            }
            var printing = parse.GetValue(quiet) ? ServiceClient.Printing.Quiet : parse.GetValue(echo) ? ServiceClient.Printing.Transcript : ServiceClient.Printing.Answers;
            return await RunScriptAsync(endpoint, parse.GetValue(file), printing, TimeSpan.FromSeconds(parse.GetValue(timeout)), output, error, input, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunScriptAsync(HostPort endpoint, string? file, ServiceClient.Printing printing, TimeSpan timeout, TextWriter output, TextWriter error, Func<TextReader> input, CancellationToken cancellationToken)
    {
        string label;
        string[] lines;
        if (file is null or "-")
        {
            label = "-";
            lines = [.. await ScenarioRunner.ReadLinesAsync(input(), cancellationToken).ConfigureAwait(false)];
        }
        else
        {
            label = file;
            try
            {
                lines = await File.ReadAllLinesAsync(file, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                await error.WriteLineAsync($"{file}: error: no such file").ConfigureAwait(false);
                return ScenarioRunSummary.ExitError;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"{file}: error: cannot read the file: {Cli.CommandLineFiles.ReadReason(file, e)}").ConfigureAwait(false);
                return ScenarioRunSummary.ExitError;
            }
        }

        var summary = await new ServiceClient(endpoint, timeout).RunAsync(lines, label, output, error, printing, cancellationToken).ConfigureAwait(false);
        return summary.ExitCode;
    }

    private static async Task<int> BenchAsync(HostPort endpoint, IReadOnlyList<int> sessionCounts, int requests, TimeSpan timeout, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        foreach (var count in sessionCounts)
        {
            try
            {
                var result = await ClientBenchmark.RunAsync(endpoint, count, requests, BenchWarmup, timeout, cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync($"bench {endpoint}: {result.Text}").ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or IOException or InvalidOperationException or TimeoutException)
            {
                await error.WriteLineAsync($"vapic: bench against {endpoint} failed: {e.Message}").ConfigureAwait(false);
                return ScenarioRunSummary.ExitError;
            }
        }
        return ScenarioRunSummary.ExitPassed;
    }
}
