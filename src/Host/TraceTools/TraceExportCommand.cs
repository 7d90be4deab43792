using System.Globalization;
using VApicActors.Host.Cli;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// <c>vapic trace export TRACE --format chrome -o OUT.json</c>: writes the trace as a Chrome trace-event
/// timeline (see <see cref="ChromeTraceExporter"/>). Lines that are not trace events go to the error stream as
/// <c>FILE:LINE: error: …</c>; the timeline is written from the rest.
/// </summary>
public static class TraceExportCommand
{
    /// <summary>The formats <c>--format</c> accepts.</summary>
    public static readonly IReadOnlyList<string> Formats = ["chrome"];

    public const int Success = 0;

    /// <summary>The timeline was written, but some lines were not trace events.</summary>
    public const int SkippedLines = 1;

    /// <summary>The trace could not be read, the output not written, or the format is unknown.</summary>
    public const int UsageError = 2;

    public static int Run(string tracePath, string format, string outputPath, TextWriter stdout, TextWriter stderr, TextReader? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (!Formats.Contains(format, StringComparer.OrdinalIgnoreCase))
        {
            stderr.WriteLine($"vapic: unknown format '{format}' (known: {string.Join(", ", Formats)})");
            return UsageError;
        }
        if (CommandLineFiles.SameFile(tracePath, outputPath))
        {
            stderr.WriteLine($"vapic: the timeline would be written over the trace it is drawn from, {tracePath}: give -o another file");
            return UsageError;
        }
        // Each event is drawn as it is read and not kept; the timeline is written once the trace has been read.
        ChromeTraceExportSummary summary;
        using var timeline = new ChromeTraceTimeline();
        var progress = TraceProgress.ForConsole(stderr);
        int skippedLines;
        try
        {
            if (!TraceFiles.TryStream(tracePath, stdin, stderr, progress, keepProperties: false, timeline.Add, out skippedLines))
            {
                return UsageError;
            }
        }
        catch (ChromeEventSorter.TemporaryFileException e)
        {
            // The temporary runs that keep the timeline's order in bounded memory could not be written.
            progress.Clear();
            stderr.WriteLine($"{outputPath}: error: cannot write the timeline: {e.Message}");
            return UsageError;
        }

        try
        {
            CommandLineFiles.CreateFolders(outputPath);
            using var stream = File.Create(outputPath);
            summary = timeline.WriteTo(stream, tracePath == TraceFiles.StandardInput ? "stdin" : Path.GetFileName(tracePath));
        }
        catch (ChromeEventSorter.TemporaryFileException e)
        {
            stderr.WriteLine($"{outputPath}: error: cannot write the timeline: {e.Message}");
            return UsageError;
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            stderr.WriteLine($"{outputPath}: error: cannot write the timeline: {CommandLineFiles.WriteReason(outputPath, e)}");
            return UsageError;
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{outputPath}: {Plural.Count(summary.ChromeEvents, "timeline event")} from {Plural.Count(summary.TraceEvents, "trace event")}: {Plural.Count(summary.Apics, "APIC track")}, {Plural.Count(summary.InterruptSlices, "interrupt slice")} ({summary.OpenAtEnd} still in service at the end), {Plural.Count(summary.Flows, "IPI arrow")}"));
        if (summary.UnlinkedDeliveries > 0)
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Plural.Count(summary.UnlinkedDeliveries, "IPI delivery", "IPI deliveries")} {Plural.Noun(summary.UnlinkedDeliveries, "has", "have")} no send in the trace (no arrow)"));
        }
        if (skippedLines > 0)
        {
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Plural.Count(skippedLines, "line")} skipped"));
            return SkippedLines;
        }
        return Success;
    }
}
