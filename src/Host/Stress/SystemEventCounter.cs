using Akka.Actor;
using Akka.Event;

namespace VApicActors.Host.Stress;

/// <summary>Counts dead letters and logged errors (unhandled exceptions, failed and restarted actors) on the event stream.</summary>
internal sealed class SystemEventCounter : ReceiveActor
{
    public SystemEventCounter(SystemEventCounts counts)
    {
        Receive<DeadLetter>(m => counts.DeadLetter(m.Message.GetType().Name + " to " + m.Recipient.Path));
        Receive<Error>(m => counts.Error((m.Cause?.GetType().Name ?? "error") + ": " + m.Message));
    }

    public static Props Props(SystemEventCounts counts) => Akka.Actor.Props.Create(() => new SystemEventCounter(counts));
}

/// <summary>The counts a <see cref="SystemEventCounter"/> keeps, with the first example of each.</summary>
internal sealed class SystemEventCounts
{
    /// <summary>Subscribes a counter to <paramref name="system"/>'s event stream; returns it and its counts.</summary>
    public static (IActorRef Counter, SystemEventCounts Counts) Start(ActorSystem system)
    {
        var counts = new SystemEventCounts();
        var counter = system.ActorOf(SystemEventCounter.Props(counts), "stress-events-" + Guid.NewGuid().ToString("N"));
        system.EventStream.Subscribe(counter, typeof(DeadLetter));
        system.EventStream.Subscribe(counter, typeof(Error));
        return (counter, counts);
    }

    private long _deadLetters;
    private long _errors;
    private string? _firstDeadLetter;
    private string? _firstError;

    public long DeadLetters => Interlocked.Read(ref _deadLetters);

    public long Errors => Interlocked.Read(ref _errors);

    public string? FirstDeadLetter => Volatile.Read(ref _firstDeadLetter);

    public string? FirstError => Volatile.Read(ref _firstError);

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
