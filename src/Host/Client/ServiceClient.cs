using System.Net.Sockets;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Service;

namespace VApicActors.Host.Client;

/// <summary>
/// <c>vapic client</c>: sends a script to a running service, one line at a time, and checks the answers the
/// way <c>vapic run</c> checks results: a line with <c>-&gt; EXPECTED</c> answered <c>OK</c> passed, answered
/// <c>ERR expected X, got Y</c> failed (printed as <c>FILE:LINE: expected X, got Y</c>); any other <c>ERR</c>
/// is a script error that stops the script (<c>FILE:LINE: error: ...</c>). Blank and comment-only lines are
/// not sent. The summary line is <c>N passed, M failed</c>; the exit status is <c>vapic run</c>'s.
/// </summary>
public sealed class ServiceClient(HostPort endpoint, TimeSpan requestTimeout)
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>What <see cref="RunAsync"/> prints of the session besides failures, errors and the summary.</summary>
    public enum Printing
    {
        /// <summary>Every answer and interrupt line as it arrives.</summary>
        Answers,
        /// <summary>Also each request before its answer, as <c>&gt; LINE</c>: a transcript.</summary>
        Transcript,
        /// <summary>Nothing else; failures go to the output, as <c>vapic run</c> prints them.</summary>
        Quiet,
    }


    /// <summary>
    /// Runs <paramref name="lines"/> (named <paramref name="label"/> in messages). Unless quiet, every answer and
    /// interrupt line is printed to <paramref name="output"/> as it arrives (in a transcript, each request first, as
    /// <c>&gt; LINE</c>), and failures go to <paramref name="error"/>; when quiet, only failures (to
    /// <paramref name="output"/>, as <c>vapic run</c> prints them), errors and the summary are printed.
    /// </summary>
    public async Task<ScenarioRunSummary> RunAsync(IReadOnlyList<string> lines, string label, TextWriter output, TextWriter error, Printing printing, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var quiet = printing == Printing.Quiet;
        var failures = new List<string>();
        int passed = 0, failed = 0;

        ServiceConnection? connection = null;
        try
        {
            try
            {
                connection = await ServiceConnection.ConnectAsync(endpoint, ConnectTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var message = $"{label}: error: cannot connect to {endpoint}: {(e is SocketException ? e.Message : "timed out")}";
                failures.Add(message);
                await error.WriteLineAsync(message).ConfigureAwait(false);
                return await SummarizeAsync(0, 0, 1).ConfigureAwait(false);
            }

            Action<string>? onInterrupt = quiet ? null : line => output.WriteLine(line);
            for (var i = 0; i < lines.Count; i++)
            {
                var line = lines[i];
                bool hasExpectation;
                try
                {
                    var parsed = ScenarioLine.Parse(line);
                    if (parsed.IsEmpty)
                    {
                        continue;
                    }
                    hasExpectation = parsed.Expected is not null;
                }
                catch (ScenarioException)
                {
                    // The service reports the same error for the line.
                    hasExpectation = false;
                }

                if (printing == Printing.Transcript)
                {
                    await output.WriteLineAsync("> " + line).ConfigureAwait(false);
                }
                string? answer;
                try
                {
                    using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    limit.CancelAfter(requestTimeout);
                    answer = await connection.RequestAsync(line, onInterrupt, limit.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await StopAsync(i, $"no answer within {requestTimeout.TotalSeconds:0.#} s").ConfigureAwait(false);
                    return await SummarizeAsync(passed, failed, 1).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    await StopAsync(i, $"the connection failed: {e.Message}").ConfigureAwait(false);
                    return await SummarizeAsync(passed, failed, 1).ConfigureAwait(false);
                }

                if (answer is null)
                {
                    await StopAsync(i, "the service closed the connection").ConfigureAwait(false);
                    return await SummarizeAsync(passed, failed, 1).ConfigureAwait(false);
                }
                if (!quiet)
                {
                    await output.WriteLineAsync(answer).ConfigureAwait(false);
                }

                if (answer.StartsWith(ServiceResponse.ByePrefix, StringComparison.Ordinal))
                {
                    if (IsQuit(line))
                    {
                        break;
                    }
                    await StopAsync(i, $"the service ended the session: {answer}").ConfigureAwait(false);
                    return await SummarizeAsync(passed, failed, 1).ConfigureAwait(false);
                }
                if (hasExpectation && answer.StartsWith(ServiceResponse.ExpectedPrefix, StringComparison.Ordinal))
                {
                    failed++;
                    var message = $"{label}:{i + 1}: {answer[ServiceResponse.ErrorPrefix.Length..]}";
                    failures.Add(message);
                    await (quiet ? output : error).WriteLineAsync(message).ConfigureAwait(false);
                }
                else if (answer.StartsWith(ServiceResponse.ErrorPrefix, StringComparison.Ordinal))
                {
                    await StopAsync(i, answer[ServiceResponse.ErrorPrefix.Length..]).ConfigureAwait(false);
                    return await SummarizeAsync(passed, failed, 1).ConfigureAwait(false);
                }
                else if (hasExpectation)
                {
                    passed++;
                }
            }
            return await SummarizeAsync(passed, failed, 0).ConfigureAwait(false);
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }

        async Task StopAsync(int index, string reason)
        {
            var message = $"{label}:{index + 1}: error: {reason}";
            failures.Add(message);
            await error.WriteLineAsync(message).ConfigureAwait(false);
        }

        async Task<ScenarioRunSummary> SummarizeAsync(int p, int f, int e)
        {
            var summary = new ScenarioRunSummary(p, f, e, failures);
            await output.WriteLineAsync(summary.SummaryLine).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            return summary;
        }
    }

    private static bool IsQuit(string line)
    {
        try
        {
            var parsed = ScenarioLine.Parse(line);
            return parsed.Command.Count > 0 && string.Equals(parsed.Command[0], "quit", StringComparison.OrdinalIgnoreCase);
        }
        catch (ScenarioException)
        {
            return false;
        }
    }
}
