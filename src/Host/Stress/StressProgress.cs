namespace VApicActors.Host.Stress;

/// <summary>Running totals the drivers add to now and then, for the progress display (not for the report).</summary>
internal sealed class StressProgress
{
    private long _operations;
    private long _exits;

    public long Operations => Interlocked.Read(ref _operations);

    public long Exits => Interlocked.Read(ref _exits);

    public void Add(long operations, long exits)
    {
        Interlocked.Add(ref _operations, operations);
        Interlocked.Add(ref _exits, exits);
    }
}
