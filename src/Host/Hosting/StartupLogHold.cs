using System.Collections.Concurrent;
using System.Diagnostics;
using Serilog.Core;
using Serilog.Events;

namespace VApicActors.Host.Hosting;

/// <summary>
/// Holds the console's log events while the actor system starts. A start that succeeds writes them then, in order; one
/// that fails drops them, because the command reports the failure in one line (Akka logs the same failure with its
/// whole stack, e.g. a cluster address that cannot be bound); the innermost exception they carry, often the only one
/// that says what went wrong, goes into that line. Akka logs through an actor, so its report can come after the
/// failure is known: after a failure the console stays closed a little longer, and the report is waited for briefly.
/// </summary>
public static class StartupLogHold
{
    private static readonly TimeSpan AfterFailure = TimeSpan.FromSeconds(2);
    private static readonly ConcurrentQueue<LogEvent> Held = new();
    private static readonly Lock Gate = new();
    private static Serilog.ILogger? _console;
    private static bool _holding;
    private static long _closedUntil;

    /// <summary>
    /// The sink in front of <paramref name="console"/>: each event is decided once, under one lock with the hold's
    /// changes, so none is both held and written, or neither.
    /// </summary>
    public static ILogEventSink Over(Serilog.ILogger console)
    {
        ArgumentNullException.ThrowIfNull(console);
        lock (Gate)
        {
            _console = console;
        }
        return new HoldSink();
    }

    public static void Begin()
    {
        lock (Gate)
        {
            Held.Clear();
            _closedUntil = 0;
            _holding = true;
        }
    }

    /// <summary>Stops holding and writes what was held to the console.</summary>
    public static void Release()
    {
        lock (Gate)
        {
            _holding = false;
            while (Held.TryDequeue(out var e))
            {
                _console?.Write(e);
            }
        }
    }

    /// <summary>
    /// Stops holding after a failed start and drops what was held, keeping the console closed for a moment longer;
    /// returns the innermost message of the first logged exception, waiting up to <paramref name="wait"/> for one.
    /// </summary>
    public static async Task<string?> DropAsync(TimeSpan wait)
    {
        lock (Gate)
        {
            _closedUntil = Stopwatch.GetTimestamp() + (long)(AfterFailure.TotalSeconds * Stopwatch.Frequency);
        }
        var until = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        string? innermost = null;
        while (true)
        {
            while (innermost is null && Held.TryDequeue(out var e))
            {
                if (e.Exception is { } exception)
                {
                    innermost = exception.GetBaseException().Message;
                }
            }
            if (innermost is not null || Stopwatch.GetTimestamp() >= until)
            {
                break;
            }
            await Task.Delay(10).ConfigureAwait(false);
        }
        lock (Gate)
        {
            _holding = false;
            Held.Clear();
        }
        return innermost;
    }

    private sealed class HoldSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
            Serilog.ILogger? console;
            lock (Gate)
            {
                if (_holding)
                {
                    Held.Enqueue(logEvent);
                    return;
                }
                if (Stopwatch.GetTimestamp() < _closedUntil)
                {
                    return; // the report of a start that failed, arriving late
                }
                console = _console;
            }
            console?.Write(logEvent);
        }
    }
}
