using Akka.Actor;
using Akka.Event;

namespace VApicActors.Host.Stress;

/// <summary>Counts dead letters and logged errors (unhandled exceptions, failed and restarted actors) on the event stream.</summary>
internal sealed class SystemEventCounter : ReceiveActor
{
    public SystemEventCounter(SystemEventCounts counts)
    {
        Receive<DeadLetter>(m =>
        {
            if (counts.Concerns(m.Recipient?.Path) || counts.Concerns(m.Sender?.Path))
            {
                counts.DeadLetter(m.Message.GetType().Name + " to " + m.Recipient?.Path);
            }
        });
        Receive<Error>(m =>
        {
            if (counts.ConcernsSource(m.LogSource))
            {
                counts.Error((m.Cause?.GetType().Name ?? "error") + ": " + m.Message);
            }
        });
    }

    public static Props Props(SystemEventCounts counts) => Akka.Actor.Props.Create(() => new SystemEventCounter(counts));
}

/// <summary>The counts a <see cref="SystemEventCounter"/> keeps, with the first example of each.</summary>
internal sealed class SystemEventCounts
{
    /// <summary>
    /// Subscribes a counter to <paramref name="system"/>'s event stream; returns it and its counts. With
    /// <paramref name="owned"/>, only events of the actors it names count (see <see cref="Concerns"/>): several runs
    /// can then share one actor system without counting each other's events.
    /// </summary>
    public static (IActorRef Counter, SystemEventCounts Counts) Start(ActorSystem system, IReadOnlyDictionary<string, bool>? owned = null)
    {
        var counts = new SystemEventCounts { _owned = owned };
        var counter = system.ActorOf(SystemEventCounter.Props(counts), "stress-events-" + Guid.NewGuid().ToString("N"));
        system.EventStream.Subscribe(counter, typeof(DeadLetter));
        system.EventStream.Subscribe(counter, typeof(Error));
        return (counter, counts);
    }

    private IReadOnlyDictionary<string, bool>? _owned;
    private long _deadLetters;
    private long _errors;
    private string? _firstDeadLetter;
    private string? _firstError;

    public long DeadLetters => Interlocked.Read(ref _deadLetters);

    public long Errors => Interlocked.Read(ref _errors);

    public string? FirstDeadLetter => Volatile.Read(ref _firstDeadLetter);

    public string? FirstError => Volatile.Read(ref _firstError);

    /// <summary>
    /// Whether an event of the actor at <paramref name="path"/> counts: always when every event counts; else when the
    /// actor is one of the owned top-level actors (<c>/user/NAME</c>) or below one.
    /// </summary>
    public bool Concerns(ActorPath? path)
    {
        if (_owned is null)
        {
            return true;
        }
        if (path is null)
        {
            return false;
        }
        var elements = path.Elements;
        return elements.Count >= 2 && elements[0] == "user" && _owned.ContainsKey(elements[1]);
    }

    /// <summary>
    /// Whether an error logged by <paramref name="logSource"/> counts: as <see cref="Concerns"/> for a source under
    /// <c>/user</c>; an error of anything else (the actor system's own actors) always counts.
    /// </summary>
    public bool ConcernsSource(string? logSource)
    {
        if (_owned is null || logSource is null)
        {
            return true;
        }
        var at = logSource.IndexOf("/user/", StringComparison.Ordinal);
        if (at < 0)
        {
            return true;
        }
        var name = logSource[(at + "/user/".Length)..];
        var end = name.IndexOfAny(['/', '#']);
        return _owned.ContainsKey(end < 0 ? name : name[..end]);
    }

    public void DeadLetter(string what)
    {
        Interlocked.Increment(ref _deadLetters);
        Interlocked.CompareExchange(ref _firstDeadLetter, what, null);
    }

    public void Error(string what)
    {
        Interlocked.Increment(ref _errors);
        Interlocked.CompareExchange(ref _firstError, what, null);
    }
}
