using System.Globalization;
using Akka.Configuration;

using VApicActors.Host.Configuration;

namespace VApicActors.Host.Stress;

/// <summary>
/// The settings of a stress run, read from <c>vapic.stress</c> (hocon/stress.hocon beside the binary) and
/// checked: a value out of range throws <see cref="StressSettingsException"/> naming the key.
/// </summary>
public sealed record StressSettings
{
    public const string Section = "vapic.stress";
    public const int MaxVcpus = 4096;
    public const int MaxVms = 64;

    public int Vcpus { get; init; } = 64;
    public int Vms { get; init; } = 1;
    public bool X2Apic { get; init; }
    public bool SparseApicIds { get; init; }
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);
    public long Operations { get; init; }
    public long SequentialOperations { get; init; } = 20_000;
    public long SequentialOperationNs { get; init; } = 1_000;
    public long Seed { get; init; } = 1;
    public OperationMix Mix { get; init; } = DefaultMix();
    public long ClockStepNs { get; init; } = 10_000;
    public long TimerPeriodNs { get; init; } = 200_000;
    public bool TraceCheck { get; init; } = true;
    public int TraceCheckCapacity { get; init; } = 4_000_000;
    public bool LoseOneIpi { get; init; }
    public int FaultVcpu { get; init; }
    public bool Progress { get; init; } = true;

    /// <summary>Run one operation at a time, with the report in virtual time (identical run to run).</summary>
    public bool Sequential { get; init; }

    /// <summary>
    /// The configuration with its defaults (hocon/stress.hocon among them) and, if given, a <c>--config</c> file over them,
    /// warning on <paramref name="warnings"/> about its unknown <c>vapic.*</c> keys.
    /// </summary>
    public static Config LoadConfig(string? file = null, TextWriter? warnings = null) => HoconSettings.LoadConfig(file, warnings);

    /// <summary>Reads and checks <c>vapic.stress</c>.</summary>
    public static StressSettings Create(Config config)
    {
        var s = Read(config);
        s.Validate();
        return s;
    }

    /// <summary>
    /// Reads <c>vapic.stress</c>, checking each value on its own but not their combination (<see cref="Validate"/>):
    /// for settings that command-line options change before they are used, as <c>--mode x2apic</c> makes
    /// <c>vcpus = 300</c> valid.
    /// </summary>
    public static StressSettings Read(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new StressSettings
        {
            Vcpus = Int(config, "vcpus", 1, MaxVcpus),
            Vms = Int(config, "vms", 1, MaxVms),
            X2Apic = Choice(config, "mode", "xapic", "x2apic") == "x2apic",
            SparseApicIds = Choice(config, "apic-ids", "dense", "sparse") == "sparse",
            Duration = Time(config, "duration", TimeSpan.FromTicks(1), TimeSpan.FromHours(1)),
            Operations = Long(config, "operations", 0, 1_000_000_000),
            SequentialOperations = Long(config, "sequential-operations", 1, 100_000_000),
            SequentialOperationNs = Nanoseconds(config, "sequential-operation-time", 1, 1_000_000),
            Seed = Long(config, "seed", long.MinValue, long.MaxValue),
            Mix = ReadMix(config),
            ClockStepNs = Nanoseconds(config, "clock-step", 1, 1_000_000_000),
            TimerPeriodNs = Nanoseconds(config, "timer-period", 1_000, 1_000_000_000),
            TraceCheck = Bool(config, "trace-check"),
            TraceCheckCapacity = Int(config, "trace-check-capacity", 1000, 100_000_000),
            LoseOneIpi = Bool(config, "lose-one-ipi"),
            FaultVcpu = Int(config, "fault-vcpu", 0, MaxVcpus - 1),
            Progress = Bool(config, "progress"),
        };
    }

    /// <summary>Checks the combination of values (after command-line overrides too).</summary>
    public void Validate()
    {
        if (Vcpus is < 1 or > MaxVcpus)
        {
            throw new StressSettingsException(Section + ".vcpus", "must be 1 to " + MaxVcpus + ", not " + Vcpus);
        }
        if (Vms is < 1 or > MaxVms)
        {
            throw new StressSettingsException(Section + ".vms", "must be 1 to " + MaxVms + ", not " + Vms);
        }
        if (!X2Apic && Vcpus > 255)
        {
            throw new StressSettingsException(Section + ".vcpus", "an xapic VM has at most 255 vCPUs (IDs 0 to 0xFE); use mode = x2apic");
        }
        if (!X2Apic && SparseApicIds && Vcpus > 85)
        {
            throw new StressSettingsException(Section + ".apic-ids", "sparse xapic IDs (3 apart) fit at most 85 vCPUs");
        }
        if (Mix.Total == 0)
        {
            throw new StressSettingsException(Section + ".mix", "at least one weight must be above 0");
        }
        if (LoseOneIpi && FaultVcpu >= Vcpus)
        {
            throw new StressSettingsException(Section + ".fault-vcpu", "must be below vcpus (" + Vcpus + ")");
        }
        if (Operations is < 0 or > 1_000_000_000)
        {
            throw new StressSettingsException(Section + ".operations", "must be 0 to 10^9");
        }
        if (Duration <= TimeSpan.Zero || Duration > TimeSpan.FromHours(1))
        {
            throw new StressSettingsException(Section + ".duration", "must be more than 0 and at most 1h");
        }
    }

    /// <summary>The initial APIC ID of vCPU <paramref name="index"/>.</summary>
    public uint ApicIdOf(int index) => !SparseApicIds ? (uint)index : X2Apic ? 0x1000u + 37u * (uint)index : 3u * (uint)index;

    private static OperationMix DefaultMix() => new(Enum.GetValues<OperationKind>().ToDictionary(k => k, _ => 1));

    private static OperationMix ReadMix(Config config)
    {
        var weights = new Dictionary<OperationKind, int>();
        foreach (var kind in Enum.GetValues<OperationKind>())
        {
            weights[kind] = Int(config, "mix." + OperationMix.Key(kind), 0, OperationMix.MaxWeight);
        }
        // (All 0 is refused by Validate, once --mix has had its say.)
        return new OperationMix(weights, allowEmpty: true);
    }

    private static string PathOf(string key) => Section + "." + key;

    /// <summary>A single value; a list or an object is refused with <paramref name="expected"/> (what the key allows).</summary>
    private static string Raw(Config config, string key, string expected)
    {
        var path = PathOf(key);
        if (!config.HasPath(path))
        {
            throw new StressSettingsException(path, "is missing");
        }
        if (HoconShapes.ShapeOf(config, path) is { } shape)
        {
            throw new StressSettingsException(path, expected + ", not " + shape);
        }
        return config.GetString(path)?.Trim() ?? "";
    }

    private static long Long(Config config, string key, long min, long max)
    {
        var text = Raw(config, key, "must be an integer from " + min + " to " + max);
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new StressSettingsException(PathOf(key), "must be an integer from " + min + " to " + max + ", not '" + text + "'");
        }
        return value;
    }

    private static int Int(Config config, string key, int min, int max) => (int)Long(config, key, min, max);

    private static bool Bool(Config config, string key)
    {
        var text = Raw(config, key, "must be on or off").ToLowerInvariant();
        return text switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new StressSettingsException(PathOf(key), "must be on or off, not '" + text + "'"),
        };
    }

    private static string Choice(Config config, string key, params string[] allowed)
    {
        var text = Raw(config, key, "must be " + string.Join(" or ", allowed) + " (one word)").ToLowerInvariant();
        if (!allowed.Contains(text))
        {
            throw new StressSettingsException(PathOf(key), "must be " + string.Join(" or ", allowed) + ", not '" + text + "'");
        }
        return text;
    }

    private static TimeSpan Time(Config config, string key, TimeSpan min, TimeSpan max)
    {
        var ns = Nanoseconds(config, key, min.Ticks * 100, max.Ticks * 100);
        return TimeSpan.FromTicks(Math.Max(1, ns / 100));
    }

    private static long Nanoseconds(Config config, string key, long min, long max)
    {
        var text = Raw(config, key, "must be a time from " + StressDurations.Format(min) + " to " + StressDurations.Format(max) + " (e.g. 250ms, 10us)");
        if (!StressDurations.TryParseNanoseconds(text, out var ns) || ns < min || ns > max)
        {
            throw new StressSettingsException(PathOf(key), "must be a time from " + StressDurations.Format(min) + " to "
                + StressDurations.Format(max) + " (e.g. 250ms, 10us), not '" + text + "'");
        }
        return ns;
    }
}
