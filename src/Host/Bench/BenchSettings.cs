using System.Collections.Immutable;
using System.Globalization;
using Akka.Configuration;
using VApicActors.Host.Configuration;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Bench;

/// <summary>The settings of <c>vapic bench</c>, from <c>vapic.bench</c> in hocon/stress.hocon.</summary>
/// <param name="WarmUp">Time each design runs, at the first vCPU count, before anything is measured.</param>
/// <param name="ActorExits">How the actor design's vCPUs make their exits.</param>
/// <param name="Designs">The designs measured, in order: <see cref="DesignNames"/>, each at most once.</param>
/// <param name="Threads">The lock design's threads: 0 for one per core, <see cref="ThreadPerVcpu"/> for one per vCPU.</param>
public sealed record BenchSettings(ImmutableArray<int> Vcpus, TimeSpan Duration, int Threads, TimeSpan WarmUp, ActorExits ActorExits,
    ImmutableArray<string> Designs)
{
    public const string Section = "vapic.bench";

    /// <summary><see cref="Threads"/> for a thread per vCPU, as hypervisors run their vCPUs: <c>threads = per-vcpu</c>.</summary>
    public const int ThreadPerVcpu = -1;

    private const string ThreadsAllowed = "must be 0 (one per core), 1 to 256, or per-vcpu";

    /// <summary>
    /// Every design, in the order of the table. <c>floor</c> is a yardstick measured only when asked for: the least an
    /// actor design of the workload costs (<see cref="FloorDesign"/>).
    /// </summary>
    public static readonly ImmutableArray<string> DesignNames = ["direct", "locks", "actors", "floor"];

    public static BenchSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var key in new[] { "vcpus", "duration", "threads", "warm-up", "actor-exits", "designs" })
        {
            if (!config.HasPath(Section + "." + key))
            {
                throw new StressSettingsException(Section + "." + key, "is missing");
            }
        }
        var counts = ParseCounts(string.Join(",", List(config, "vcpus", "a list of vCPU counts such as [4, 64, 256]")), Section + ".vcpus");
        var durationText = Single(config, "duration", "must be a time from 100ms to 1m");
        if (!StressDurations.TryParseNanoseconds(durationText, out var ns) || ns < 100_000_000 || ns > 60_000_000_000)
        {
            throw new StressSettingsException(Section + ".duration", "must be a time from 100ms to 1m, not '" + durationText + "'");
        }
        var threads = ParseThreads(Single(config, "threads", ThreadsAllowed), Section + ".threads");
        var warmUpText = Single(config, "warm-up", "must be a time from 0s to 1m");
        if (!StressDurations.TryParseNanoseconds(warmUpText, out var warmUpNs) || warmUpNs < 0 || warmUpNs > 60_000_000_000)
        {
            throw new StressSettingsException(Section + ".warm-up", "must be a time from 0s to 1m, not '" + warmUpText + "'");
        }
        var exitsText = Single(config, "actor-exits", "must be per-exit, batched or hosted");
        var exits = ParseActorExits(exitsText)
            ?? throw new StressSettingsException(Section + ".actor-exits", "must be per-exit, batched or hosted, not '" + exitsText + "'");
        var designs = ParseDesigns(string.Join(",", List(config, "designs", "a list of designs such as [direct, locks, actors]")), Section + ".designs");
        return new BenchSettings(counts, TimeSpan.FromTicks(ns / 100), threads, TimeSpan.FromTicks(warmUpNs / 100), exits, designs);
    }

    /// <summary>The lock design's threads as written: 0 to 256, or <c>per-vcpu</c> (<see cref="ThreadPerVcpu"/>).</summary>
    public static int ParseThreads(string text, string key)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.Equals(text.Trim(), "per-vcpu", StringComparison.OrdinalIgnoreCase))
        {
            return ThreadPerVcpu;
        }
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var threads) || threads is < 0 or > 256)
        {
            throw new StressSettingsException(key, ThreadsAllowed + ", not '" + text + "'");
        }
        return threads;
    }

    /// <summary>The lock design's threads for a run of <paramref name="vcpus"/> vCPUs.</summary>
    public int LockThreads(int vcpus) => Threads switch
    {
        ThreadPerVcpu => vcpus,
        > 0 => Threads,
        _ => Environment.ProcessorCount,
    };

    private static string Single(Config config, string key, string expected)
    {
        if (HoconShapes.ShapeOf(config, Section + "." + key) is { } shape)
        {
            throw new StressSettingsException(Section + "." + key, expected + ", not " + shape);
        }
        return config.GetString(Section + "." + key);
    }

    private static IReadOnlyList<string> List(Config config, string key, string expected)
    {
        if (!HoconShapes.TryReadList(config, Section + "." + key, out var items, out var problem))
        {
            throw new StressSettingsException(Section + "." + key, "must be " + expected + ", not " + problem);
        }
        return items;
    }

    /// <summary>Comma-separated design names, each once, put in the order of <see cref="DesignNames"/>.</summary>
    public static ImmutableArray<string> ParseDesigns(string text, string key)
    {
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in Entries(text, key))
        {
            var name = part.ToLowerInvariant();
            if (!DesignNames.Contains(name))
            {
                throw new StressSettingsException(key, "each design must be direct, locks, actors or floor, not '" + part + "'");
            }
            if (!given.Add(name))
            {
                throw new StressSettingsException(key, "names " + name + " twice");
            }
        }
        if (given.Count == 0)
        {
            throw new StressSettingsException(key, "needs at least one design");
        }
        return [.. DesignNames.Where(given.Contains)];
    }

    public static ActorExits? ParseActorExits(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "per-exit" => ActorExits.PerExit,
        "batched" => ActorExits.Batched,
        "hosted" => ActorExits.Hosted,
        _ => null,
    };

    public static string Name(ActorExits exits) => exits switch
    {
        ActorExits.PerExit => "per-exit",
        ActorExits.Batched => "batched",
        _ => "hosted",
    };

    /// <summary>Comma-separated vCPU counts, each 2 to 4096.</summary>
    public static ImmutableArray<int> ParseCounts(string text, string key)
    {
        var counts = new List<int>();
        foreach (var part in Entries(text, key))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n is < 2 or > 4096)
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

    /// <summary>
    /// The entries of a comma-separated list, trimmed. A list with no entry at all is left to its caller to refuse; one
    /// with an empty entry among others (<c>4,,8</c>, <c>4,8,</c>) is refused, not read as if the entry were not there.
    /// </summary>
    private static string[] Entries(string text, string key)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.All(p => p.Length == 0))
        {
            return [];
        }
        if (parts.Any(p => p.Length == 0))
        {
            throw new StressSettingsException(key, "'" + text + "' has an empty entry");
        }
        return parts;
    }
}
