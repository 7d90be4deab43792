using System.Text;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Parsing;
using VApicActors.Actors;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Tracing;

/// <summary>
/// Writes the message trace as compact JSON (CLEF), one event per line, through a Serilog logger of its own
/// (never the global one). Every event carries the properties <c>Vm</c>, <c>ApicId</c>, <c>Event</c>,
/// <c>Register</c>, <c>Value</c>, <c>Vector</c>, <c>Source</c>, <c>Destination</c>, <c>VirtualTimeNs</c>,
/// <c>Seq</c>, <c>Detail</c> and <c>SourceSeq</c> (null when the event has no such value), so Serilog expressions can filter it.
/// Thread-safe; disposing flushes and closes the file. A write that fails (a full disk) stops the writing and is
/// kept in <see cref="Failure"/>, for the command to report once the sink is disposed.
/// </summary>
public sealed class SerilogTraceSink : ITraceSink, IDisposable
{
    /// <summary>The property names every trace event carries, in the order they are written.</summary>
    public static readonly IReadOnlyList<string> PropertyNames =
        ["Vm", "ApicId", "Event", "Register", "Value", "Vector", "Source", "Destination", "VirtualTimeNs", "Seq", "Detail", "SourceSeq"];

    private static readonly MessageTemplate Template = new MessageTemplateParser().Parse("{Event} at APIC {ApicId}");
    private static readonly ScalarValue Null = new(null);

    private readonly Logger _logger;
    private readonly FileWriter _file;
    private long _offered;
    private long _written;

    private SerilogTraceSink(Logger logger, FileWriter file, string path)
    {
        _logger = logger;
        _file = file;
        FilePath = path;
    }

    public string FilePath { get; }

    public bool Enabled => true;

    /// <summary>Events handed to the sink.</summary>
    public long Offered => Interlocked.Read(ref _offered);

    /// <summary>Events the filter let through to the file.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>
    /// The error that stopped the writing (the file then holds only the events before it), or null. Final once the
    /// sink is disposed.
    /// </summary>
    public Exception? Failure => _file.Failure;

    /// <summary>
    /// Creates the sink, opening (and emptying) the file at <paramref name="path"/> and the folders above it: a path
    /// that cannot be written throws here, before anything is traced (<see cref="IOException"/>,
    /// <see cref="UnauthorizedAccessException"/>). Throws <see cref="ArgumentException"/> when
    /// <paramref name="filter"/> is not a valid Serilog expression.
    /// </summary>
    public static SerilogTraceSink Create(string path, string? filter = null)
    {
        if (!TraceFilter.TryCompile(filter, out var predicate, out var error))
        {
            throw new ArgumentException($"invalid trace filter \"{filter}\": {error}", nameof(filter));
        }

        var fullPath = Path.GetFullPath(path);
        CommandLineFiles.CreateFolders(fullPath);
        // Truncated, not deleted and created anew: a device such as /dev/null must stay what it is. The writer
        // below buffers; the stream does not, so that closing it after a failed write cannot fail again.
        var file = new FileWriter(new FileStream(fullPath, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0), new CompactJsonFormatter());

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
            .WriteTo.Async(a => a.Sink(file), blockWhenFull: true);
        sink = new SerilogTraceSink(configuration.CreateLogger(), file, fullPath);
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

    public void Dispose()
    {
        _logger.Dispose();
        _file.Dispose();
    }

    private static ScalarValue Scalar(object? value) => value is null ? Null : new ScalarValue(value);

    /// <summary>
    /// Formats events into the file (buffered), from the one thread of the asynchronous wrapper. Unlike Serilog's
    /// file sink, it does not swallow a failed write: it keeps the first error and writes nothing more.
    /// </summary>
    private sealed class FileWriter(FileStream stream, ITextFormatter formatter) : ILogEventSink, IDisposable
    {
        private readonly StreamWriter _writer = new(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 64 * 1024);
        private readonly Lock _gate = new();
        private Exception? _failure;
        private bool _disposed;

        public Exception? Failure
        {
            get
            {
                lock (_gate)
                {
                    return _failure;
                }
            }
        }

        public void Emit(LogEvent logEvent)
        {
            lock (_gate)
            {
                if (_failure is not null || _disposed)
                {
                    return;
                }
                try
                {
                    formatter.Format(logEvent, _writer);
                }
                catch (IOException e)
                {
                    _failure = e;
                }
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }
                _disposed = true;
                try
                {
                    if (_failure is null)
                    {
                        _writer.Flush();
                    }
                }
                catch (IOException e)
                {
                    _failure = e;
                }
                finally
                {
                    CloseQuietly();
                }
            }
        }

        /// <summary>Closes the file (the writer closes it even when its last flush fails).</summary>
        private void CloseQuietly()
        {
            try
            {
                _writer.Dispose();
            }
            catch (IOException e)
            {
                _failure ??= e;
            }
        }
    }
}
