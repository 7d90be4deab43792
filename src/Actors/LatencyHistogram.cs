using System.Collections.Immutable;
using System.Numerics;

namespace VApicActors.Actors;

/// <summary>
/// An immutable histogram of latencies in nanoseconds, in log-linear buckets: exact below 16 ns, then eight
/// buckets per power of two (at most 12.5 % wide). Percentiles answer a bucket's upper bound, capped at the
/// largest value seen, so a reported percentile is never below the true one.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>Values below this have a bucket each.</summary>
    internal const int LinearBuckets = 16;
    internal const int SubBucketBits = 3;
    internal const int SubBuckets = 1 << SubBucketBits;
    internal const int BucketCount = LinearBuckets + (63 - 4) * SubBuckets;

    public static readonly LatencyHistogram Empty = new(ImmutableArray.Create(new long[BucketCount]), 0, 0);

    internal LatencyHistogram(ImmutableArray<long> buckets, long count, long max)
    {
        Buckets = buckets;
        Count = count;
        Max = max;
    }

    /// <summary>Samples per bucket.</summary>
    public ImmutableArray<long> Buckets { get; }

    /// <summary>Number of samples.</summary>
    public long Count { get; }

    /// <summary>The largest sample, in ns (0 without samples).</summary>
    public long Max { get; }

    /// <summary>The bucket of a non-negative value.</summary>
    internal static int BucketOf(long ns)
    {
        if (ns < LinearBuckets)
        {
            return ns < 0 ? 0 : (int)ns;
        }
        var exponent = 63 - BitOperations.LeadingZeroCount((ulong)ns);
        var sub = (int)(ns >> (exponent - SubBucketBits)) & (SubBuckets - 1);
        return LinearBuckets + (exponent - 4) * SubBuckets + sub;
    }

    /// <summary>The largest value a bucket holds.</summary>
    internal static long UpperBoundOf(int bucket)
    {
        if (bucket < LinearBuckets)
        {
            return bucket;
        }
        var exponent = (bucket - LinearBuckets) / SubBuckets + 4;
        var sub = (bucket - LinearBuckets) % SubBuckets;
        var lower = (long)(SubBuckets + sub) << (exponent - SubBucketBits);
        return lower + (1L << (exponent - SubBucketBits)) - 1;
    }

    /// <summary>The value at or below which a fraction <paramref name="quantile"/> (0 to 1) of the samples lie; 0 without samples.</summary>
    public long Percentile(double quantile)
    {
        if (quantile is < 0 or > 1 || double.IsNaN(quantile))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "must be 0 to 1");
        }
        if (Count == 0)
        {
            return 0;
        }
        var rank = Math.Max(1, (long)Math.Ceiling(quantile * Count));
        long seen = 0;
        for (var i = 0; i < Buckets.Length; i++)
        {
            seen += Buckets[i];
            if (seen >= rank)
            {
                return Math.Min(UpperBoundOf(i), Max);
            }
        }
        return Max;
    }

    /// <summary>
    /// A histogram from its <see cref="Buckets"/> and <see cref="Max"/> (as another process wrote them down), so that
    /// histograms taken elsewhere can be merged exactly.
    /// </summary>
    public static LatencyHistogram FromBuckets(IReadOnlyList<long> buckets, long max)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        if (buckets.Count != BucketCount)
        {
            throw new ArgumentException("a latency histogram has " + BucketCount + " buckets, not " + buckets.Count, nameof(buckets));
        }
        long count = 0;
        foreach (var b in buckets)
        {
            if (b < 0)
            {
                throw new ArgumentException("a bucket count must not be negative", nameof(buckets));
            }
            count += b;
        }
        if (max < 0 || (count == 0 && max != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(max), max, "must be 0 without samples, else not negative");
        }
        return new LatencyHistogram(ImmutableArray.CreateRange(buckets), count, max);
    }

    /// <summary>The sum of several histograms.</summary>
    public static LatencyHistogram Merge(IEnumerable<LatencyHistogram> histograms)
    {
        ArgumentNullException.ThrowIfNull(histograms);
        var buckets = new long[BucketCount];
        long count = 0;
        long max = 0;
        foreach (var h in histograms)
        {
            for (var i = 0; i < h.Buckets.Length; i++)
            {
                buckets[i] += h.Buckets[i];
            }
            count += h.Count;
            max = Math.Max(max, h.Max);
        }
        return new LatencyHistogram(ImmutableArray.Create(buckets), count, max);
    }
}
