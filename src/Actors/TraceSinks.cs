namespace VApicActors.Actors;

/// <summary>Composition of trace sinks.</summary>
public static class TraceSinks
{
    /// <summary>
    /// A sink that writes every event to each of the given sinks that is present and enabled; null when none is,
    /// and the sink itself when only one is.
    /// </summary>
    public static ITraceSink? Combine(params ITraceSink?[] sinks)
    {
        var enabled = sinks.Where(s => s is { Enabled: true }).Cast<ITraceSink>().ToArray();
        return enabled.Length switch
        {
            0 => null,
            1 => enabled[0],
            _ => new Tee(enabled),
        };
    }

    private sealed class Tee(ITraceSink[] sinks) : ITraceSink
    {
        public bool Enabled => true;

        public void Write(in TraceEvent traceEvent)
        {
            foreach (var sink in sinks)
            {
                sink.Write(traceEvent);
            }
        }
    }
}
