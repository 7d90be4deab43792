namespace VApicActors.Actors.Tests;

/// <summary>A thread-safe trace sink that keeps every event in the order it was written.</summary>
public sealed class RecordingTraceSink : ITraceSink
{
    private readonly object _gate = new();
    private readonly List<TraceEvent> _events = new();

    public bool Enabled => true;

    public void Write(in TraceEvent traceEvent)
    {
        lock (_gate)
        {
            _events.Add(traceEvent);
        }
    }

    public IReadOnlyList<TraceEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return _events.ToArray();
            }
        }
    }

    public IReadOnlyList<TraceEvent> Named(string name) => Events.Where(e => e.Event == name).ToArray();
}
