using System.Collections.Immutable;
using Akka.Configuration;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Bench;

/// <summary>The settings of <c>vapic bench</c>, from <c>vapic.bench</c> in hocon/stress.hocon.</summary>
/// <param name="WarmUp">Time each design runs, at the first vCPU count, before anything is measured.</param>
/// <param name="BatchExits">Whether the actor design's vCPUs send their exits between two VM entries as one
/// sequence (<c>RunExits</c>) instead of one request per exit.</param>
public sealed record BenchSettings(ImmutableArray<int> Vcpus, TimeSpan Duration, int Threads, TimeSpan WarmUp, bool BatchExits)
{
    public const string Section = "vapic.bench";

    public static BenchSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var key in new[] { "vcpus", "duration", "threads", "warm-up", "batch-exits" })
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
        var warmUpText = config.GetString(Section + ".warm-up");
        if (!StressDurations.TryParseNanoseconds(warmUpText, out var warmUpNs) || warmUpNs < 0 || warmUpNs > 60_000_000_000)
        {
            throw new StressSettingsException(Section + ".warm-up", "must be a time from 0s to 1m, not '" + warmUpText + "'");
        }
        var batchText = config.GetString(Section + ".batch-exits").Trim().ToLowerInvariant();
        var batch = batchText switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new StressSettingsException(Section + ".batch-exits", "must be on or off, not '" + batchText + "'"),
        };
        return new BenchSettings(counts, TimeSpan.FromTicks(ns / 100), threads, TimeSpan.FromTicks(warmUpNs / 100), batch);
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
