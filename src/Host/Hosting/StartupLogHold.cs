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
    private static volatile bool _holding;
    private static long _closedUntil;

    /// <summary>Whether the console writes no event now (they are held, or dropped just after a failed start).</summary>
    public static bool Holding => _holding || Stopwatch.GetTimestamp() < Interlocked.Read(ref _closedUntil);

    /// <summary>The sink that keeps the events while they are held.</summary>
    public static ILogEventSink Sink { get; } = new HoldSink();

    public static void Begin()
    {
        Held.Clear();
        Interlocked.Exchange(ref _closedUntil, 0);
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

    /// <summary>
    /// Stops holding after a failed start and drops what was held, keeping the console closed for a moment longer;
    /// returns the innermost message of the first logged exception, waiting up to <paramref name="wait"/> for one.
    /// </summary>
    public static async Task<string?> DropAsync(TimeSpan wait)
    {
        Interlocked.Exchange(ref _closedUntil, Stopwatch.GetTimestamp() + (long)(AfterFailure.TotalSeconds * Stopwatch.Frequency));
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
        _holding = false;
        Held.Clear();
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
