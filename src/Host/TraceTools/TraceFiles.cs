using System.Globalization;
using System.Text;
using VApicActors.Host.Cli;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Reads a trace file (or standard input, named <c>-</c>) for the trace commands, line by line, reporting on the
/// error stream what it could not read as soon as it meets it.
/// </summary>
internal static class TraceFiles
{
    /// <summary>The name that reads the trace from standard input.</summary>
    public const string StandardInput = "-";

    /// <summary>
    /// Reads <paramref name="path"/> and passes each event to <paramref name="onEvent"/> as it is read, so that a trace
    /// of any size is read in constant memory. Each line that is not a trace event is reported as
    /// <c>FILE:LINE: error: …</c> when it is met (those before the first event once it is read). False (after saying
    /// why) when the file cannot be opened, when it is not a trace (<see cref="NotATraceException"/>: <c>FILE does not
    /// look like a message trace (…)</c>, nothing read from it), or when reading it fails part way; the events read
    /// before have been passed on. What <paramref name="output"/> holds of the
    /// lines printed for earlier events is flushed before an error is reported, so that the two keep their order when
    /// both streams go to one place.
    /// </summary>
    public static bool TryStream(
        string path, TextReader? stdin, TextWriter stderr, TraceProgress progress, bool keepProperties, Action<TraceRecord> onEvent, out int skippedLines,
        List<TraceReadError>? errors = null, OutputBatch? output = null)
    {
        skippedLines = 0;
        TextReader reader;
        Stream? file = null;
        try
        {
            if (path == StandardInput)
            {
                reader = stdin ?? Console.In;
            }
            else
            {
                (file, reader) = TraceInput.Open(path);
            }
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            stderr.WriteLine($"{path}: error: cannot read the trace: {CommandLineFiles.ReadReason(path, e)}");
            return false;
        }

        var skipped = 0;
        var events = 0L;
        var size = file is { CanSeek: true } ? file.Length : 0;
        try
        {
            using (file is null ? null : reader)
            {
                var records = ClefTraceReader.Stream(Lines(reader), path, error =>
                {
                    skipped++;
                    errors?.Add(error);
                    output?.Flush();
                    progress.WriteLine(stderr, error.ToString());
                }, keepProperties);
                foreach (var record in records)
                {
                    onEvent(record);
                    if ((++events & 0x3FFF) == 0)
                    {
                        progress.Report(() => Status(path, events, file, size));
                    }
                }
            }
        }
        catch (NotATraceException e)
        {
            // A script or a binary file given for a trace: one line says so, rather than an error for each of its lines.
            output?.Flush();
            progress.Clear();
            skippedLines = 0;
            stderr.WriteLine(e.Message);
            return false;
        }
        catch (Exception e) when (TraceInput.IsReadError(e))
        {
            output?.Flush();
            progress.Clear();
            skippedLines = skipped;
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{path}: error: cannot read the trace after {Plural.Count(events, "event")}: {TraceInput.Reason(path, e)}"));
            return false;
        }
        finally
        {
            // Also when the command stops part way (its standard output has no reader any more): no status stays behind.
            progress.Clear();
        }
        skippedLines = skipped;
        return true;
    }

    private static string Status(string path, long events, Stream? file, long size)
    {
        var inv = CultureInfo.InvariantCulture;
        return size > 0 && file is not null
            ? string.Create(inv, $"reading {path}: {Plural.Count(events, "event", format: "N0")}, {100.0 * Math.Min(file.Position, size) / size:F0}% of {size / (1024.0 * 1024.0):F0} MiB")
            : string.Create(inv, $"reading {path}: {Plural.Count(events, "event", format: "N0")}");
    }

    private static IEnumerable<string> Lines(TextReader reader)
    {
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }
}
