using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace VApicActors.Host.Hosting;

/// <summary>
/// Holds the console's log events while the actor system starts. A start that succeeds writes them then, in order; one
/// that fails drops them, because the command reports the failure in one line (Akka logs the same failure with its
/// whole stack first, e.g. a cluster address that cannot be bound); the innermost exception they carry, often the
/// only one that says what went wrong, goes into that line.
/// </summary>
public static class StartupLogHold
{
    private static readonly ConcurrentQueue<LogEvent> Held = new();
    private static volatile bool _holding;

    /// <summary>Whether events are held now (the console writes none of them meanwhile).</summary>
    public static bool Holding => _holding;

    /// <summary>The sink that keeps the events while they are held.</summary>
    public static ILogEventSink Sink { get; } = new HoldSink();

    public static void Begin()
    {
        Held.Clear();
        _holding = true;
    }

    /// <summary>Stops holding and writes what was held to <paramref name="logger"/>.</summary>
    public static void Release(Serilog.ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _holding = false;
        while (Held.TryDequeue(out var e))
        {
            logger.Write(e);
        }
    }

    /// <summary>Stops holding and drops what was held; returns the innermost exception's message among it, if any.</summary>
    public static string? Drop()
    {
        _holding = false;
        string? innermost = null;
        while (Held.TryDequeue(out var e))
        {
            if (innermost is null && e.Exception is { } exception)
            {
                innermost = exception.GetBaseException().Message;
            }
        }
        return innermost;
    }

    private sealed class HoldSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
            if (_holding)
            {
                Held.Enqueue(logEvent);
            }
        }
    }
}
