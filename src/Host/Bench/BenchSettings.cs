using System.Collections.Immutable;
using Akka.Configuration;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Bench;

/// <summary>The settings of <c>vapic bench</c>, from <c>vapic.bench</c> in hocon/stress.hocon.</summary>
public sealed record BenchSettings(ImmutableArray<int> Vcpus, TimeSpan Duration, int Threads)
{
    public const string Section = "vapic.bench";

    public static BenchSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var key in new[] { "vcpus", "duration", "threads" })
        {
            if (!config.HasPath(Section + "." + key))
            {
                throw new StressSettingsException(Section + "." + key, "is missing");
            }
        }
        var counts = ParseCounts(string.Join(",", config.GetStringList(Section + ".vcpus")), Section + ".vcpus");
        var durationText = config.GetString(Section + ".duration");
        if (!StressDurations.TryParseNanoseconds(durationText, out var ns) || ns < 100_000_000 || ns > 60_000_000_000)
        {
            throw new StressSettingsException(Section + ".duration", "must be a time from 100ms to 1m, not '" + durationText + "'");
        }
        var threadsText = config.GetString(Section + ".threads");
        if (!int.TryParse(threadsText, out var threads) || threads is < 0 or > 256)
        {
            throw new StressSettingsException(Section + ".threads", "must be 0 (one per core) to 256, not '" + threadsText + "'");
        }
        return new BenchSettings(counts, TimeSpan.FromTicks(ns / 100), threads);
    }

    /// <summary>Comma-separated vCPU counts, each 2 to 4096.</summary>
    public static ImmutableArray<int> ParseCounts(string text, string key)
    {
        var counts = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, out var n) || n is < 2 or > 4096)
            {
                throw new StressSettingsException(key, "each vCPU count must be 2 to 4096, not '" + part + "'");
            }
            counts.Add(n);
        }
        if (counts.Count == 0)
        {
            throw new StressSettingsException(key, "needs at least one vCPU count");
        }
        return [.. counts];
    }
}
