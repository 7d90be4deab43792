using System.Globalization;
using System.Text;
using VApicActors.Host.Cli;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// <c>vapic trace view TRACE [--filter EXPR]</c>: prints a trace one event per line, in file order, with
/// values, vectors and IDs in hexadecimal; <c>--filter</c> keeps the events a Serilog expression selects
/// (<c>ApicId = 1 and Vector = 0x41</c>). Lines that are not trace events go to the error stream as
/// <c>FILE:LINE: error: …</c> and the rest is printed.
/// </summary>
public static class TraceViewCommand
{
    /// <summary>Every line was a trace event.</summary>
    public const int Success = 0;

    /// <summary>Some lines were not trace events; the others were printed.</summary>
    public const int SkippedLines = 1;

    /// <summary>The trace could not be read, or the filter is not a valid expression.</summary>
    public const int UsageError = 2;

    /// <summary>
    /// Prints the trace at <paramref name="tracePath"/> (<c>-</c>: <paramref name="stdin"/>, by default standard input)
    /// as it reads it, so that a trace of any size is viewed in constant memory and a failure part way keeps what was
    /// printed.
    /// </summary>
    public static int Run(string tracePath, string? filter, TextWriter stdout, TextWriter stderr, TextReader? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (!TraceFilter.TryCompile(filter, out var predicate, out var error))
        {
            stderr.WriteLine($"vapic: invalid filter \"{filter}\": {error}");
            return UsageError;
        }

        var logEvents = new TraceLogEvents();
        var notes = new AccessNotes();
        var shown = 0L;
        var read = 0L;
        var progress = TraceProgress.ForConsole(stderr, alsoNeedsRedirectedOutput: true);
        // Lines to a pipe share writes; a trace read from standard input may wait for its next line, so each line
        // printed before that goes out at once. A pipe whose reader has gone stops the reading at the next write.
        bool complete;
        int skipped;
        using (var batch = StandardOutput.Batch(stdout, inputMayWait: tracePath == TraceFiles.StandardInput))
        {
            complete = TraceFiles.TryStream(tracePath, stdin, stderr, progress, keepProperties: predicate is not null, e =>
            {
                read++;
                batch.Tick();
                var why = notes.Explain(e);
                if (predicate is not null && !predicate(logEvents.ToLogEvent(e)))
                {
                    return;
                }
                stdout.WriteLine(why is null ? Format(e) : Format(e) + "  " + why);
                shown++;
            }, out skipped, output: batch);
        }
        if (!complete && read == 0 && skipped == 0)
        {
            return UsageError;
        }
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{shown} of {Plural.Count(read, "event")} shown{(skipped > 0 ? $", {Plural.Count(skipped, "line")} skipped" : "")}{(complete ? "" : " before the read failed")}"));
        return !complete ? UsageError : skipped > 0 ? SkippedLines : Success;
    }

    /// <summary>
    /// One event as one line: virtual time in seconds with nanoseconds (<c>-</c> when the event has none), VM, APIC, Seq, event, register, then
    /// what the event carries (value, vector, source, destination, source Seq) and its detail.
    /// </summary>
    public static string Format(TraceRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(128);
        if (e.VirtualTimeNs < 0)
        {
            // No virtual time: a ServiceRequest event (-1) is not tied to the VM's clock.
            sb.Append(inv, $"{"-",13}");
        }
        else
        {
            var seconds = Math.DivRem(e.VirtualTimeNs, 1_000_000_000L, out var ns);
            sb.Append(inv, $"{seconds,3}.{ns:D9}");
        }
        sb.Append(inv, $" {e.Vm} apic={Hex.Of(e.ApicId),-4} #{e.Seq,-6} {e.Event,-14} {e.Register ?? "-",-12}");
        if (e.Value is ulong value)
        {
            if (e.Event is "TimerArmed" or "TimerCancelled" or "TimerFired")
            {
                // A timer event's value is a virtual time (the expiry): written as the first column writes times.
                sb.Append(inv, $" due={value / 1_000_000_000UL}.{value % 1_000_000_000UL:D9}");
            }
            else
            {
                sb.Append(" value=").Append(Hex.Of(value));
            }
        }
        if (e.Vector is int vector)
        {
            sb.Append(" vector=").Append(Hex.Of((ulong)vector));
        }
        if (e.Source is uint source)
        {
            sb.Append(" from=").Append(Hex.Of(source));
        }
        if (e.SourceSeq is long sourceSeq)
        {
            sb.Append(inv, $" sent-seq={sourceSeq}");
        }
        if (e.Destination is not null)
        {
            sb.Append(" to=\"").Append(e.Destination).Append('"');
        }
        if (!string.IsNullOrEmpty(e.Detail))
        {
            sb.Append("  [").Append(e.Detail).Append(']');
        }
        return sb.ToString().TrimEnd();
    }
}
