using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Parsing;
using VApicActors.Actors;

namespace VApicActors.Host.Tracing;

/// <summary>
/// Writes the message trace as compact JSON (CLEF), one event per line, through a Serilog logger of its own
/// (never the global one). Every event carries the properties <c>Vm</c>, <c>ApicId</c>, <c>Event</c>,
/// <c>Register</c>, <c>Value</c>, <c>Vector</c>, <c>Source</c>, <c>Destination</c>, <c>VirtualTimeNs</c>,
/// <c>Seq</c>, <c>Detail</c> and <c>SourceSeq</c> (null when the event has no such value), so Serilog expressions can filter it.
/// Thread-safe; disposing flushes and closes the file.
/// </summary>
public sealed class SerilogTraceSink : ITraceSink, IDisposable
{
    /// <summary>The property names every trace event carries, in the order they are written.</summary>
    public static readonly IReadOnlyList<string> PropertyNames =
        ["Vm", "ApicId", "Event", "Register", "Value", "Vector", "Source", "Destination", "VirtualTimeNs", "Seq", "Detail", "SourceSeq"];

    private static readonly MessageTemplate Template = new MessageTemplateParser().Parse("{Event} at APIC {ApicId}");
    private static readonly ScalarValue Null = new(null);

    private readonly Logger _logger;
    private long _offered;
    private long _written;

    private SerilogTraceSink(Logger logger, string path)
    {
        _logger = logger;
        FilePath = path;
    }

    public string FilePath { get; }

    public bool Enabled => true;

    /// <summary>Events handed to the sink.</summary>
    public long Offered => Interlocked.Read(ref _offered);

    /// <summary>Events the filter let through to the file.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>
    /// Creates the sink, replacing any file at <paramref name="path"/>. Throws <see cref="ArgumentException"/>
    /// when <paramref name="filter"/> is not a valid Serilog expression.
    /// </summary>
    public static SerilogTraceSink Create(string path, string? filter = null)
    {
        if (!TraceFilter.TryCompile(filter, out var predicate, out var error))
        {
            throw new ArgumentException($"invalid trace filter \"{filter}\": {error}", nameof(filter));
        }

        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        File.Delete(fullPath);

        SerilogTraceSink? sink = null;
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .Filter.ByIncludingOnly(e =>
            {
                if (predicate is not null && !predicate(e))
                {
                    return false;
                }
                Interlocked.Increment(ref sink!._written);
                return true;
            })
            .WriteTo.Async(
                a => a.File(new CompactJsonFormatter(), fullPath, fileSizeLimitBytes: null, buffered: true),
                blockWhenFull: true);
        sink = new SerilogTraceSink(configuration.CreateLogger(), fullPath);
        return sink;
    }

    public void Write(in TraceEvent traceEvent)
    {
        Interlocked.Increment(ref _offered);
        var properties = new[]
        {
            new LogEventProperty("Vm", new ScalarValue(traceEvent.Vm)),
            new LogEventProperty("ApicId", new ScalarValue(traceEvent.ApicId)),
            new LogEventProperty("Event", new ScalarValue(traceEvent.Event)),
            new LogEventProperty("Register", Scalar(traceEvent.Register)),
            new LogEventProperty("Value", Scalar(traceEvent.Value)),
            new LogEventProperty("Vector", Scalar(traceEvent.Vector)),
            new LogEventProperty("Source", Scalar(traceEvent.Source)),
            new LogEventProperty("Destination", Scalar(traceEvent.Destination)),
            new LogEventProperty("VirtualTimeNs", new ScalarValue(traceEvent.VirtualTimeNs)),
            new LogEventProperty("Seq", new ScalarValue(traceEvent.Seq)),
            new LogEventProperty("Detail", Scalar(traceEvent.Detail)),
            new LogEventProperty("SourceSeq", Scalar(traceEvent.SourceSeq)),
        };
        _logger.Write(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null, Template, properties));
    }

    public void Dispose() => _logger.Dispose();

    private static ScalarValue Scalar(object? value) => value is null ? Null : new ScalarValue(value);
}
