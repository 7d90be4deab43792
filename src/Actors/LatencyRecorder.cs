using System.Collections.Immutable;

namespace VApicActors.Actors;

/// <summary>
/// The mutable side of <see cref="LatencyHistogram"/>: one owner records samples (in ns), then takes a snapshot. Its
/// memory is fixed, whatever the number of samples; a percentile is exact to within an eighth of its power of two.
/// </summary>
public sealed class LatencyRecorder
{
    private readonly long[] _buckets = new long[LatencyHistogram.BucketCount];
    private long _count;
    private long _max;

    public void Record(long ns)
    {
        if (ns < 0)
        {
            ns = 0;
        }
        _buckets[LatencyHistogram.BucketOf(ns)]++;
        _count++;
        if (ns > _max)
        {
            _max = ns;
        }
    }

    public LatencyHistogram Snapshot() => _count == 0
        ? LatencyHistogram.Empty
        : new LatencyHistogram(ImmutableArray.Create(_buckets), _count, _max);
}
