using Akka.Configuration;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Stress;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.Configuration;

/// <summary>
/// Everything the host reads from HOCON, validated. Built only by <see cref="Create"/>: a value
/// outside what its key allows throws a <see cref="SettingsException"/> naming the key.
/// </summary>
/// <param name="VmThreadsOnVcpuExecutor">
/// Whether a VM's actors run on <c>vapic-vcpu-dispatcher</c> as configured (<c>vapic.vm-threads = vcpu</c>) rather than
/// on the .NET thread pool (<c>thread-pool</c>, the default for the hosted commands).
/// </param>
public sealed record VapicSettings(SimulationSettings Simulation, TraceSettings Trace, string AkkaLogLevel, bool VmThreadsOnVcpuExecutor = false)
{
    public const int MaxVcpus = 4096;
    public const long MaxHz = 1_000_000_000_000;
    public const int MaxIpiRateHz = 1_000_000;
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxInitDelay = TimeSpan.FromSeconds(1);
    private const long NsPerTick = 100;
    private const uint MaxXApicId = 0xFE;
    private const uint MaxX2ApicId = 0xFFFF_FFFE;
    private static readonly string[] LogLevels = ["DEBUG", "INFO", "WARNING", "ERROR"];

    public static VapicSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        AkkaSettingsCheck.ValidateVcpuDispatcher(config);
        AkkaSettingsCheck.Validate(config);

        var vcpus = ReadInt(config, "vapic.simulation.vcpus");
        if (vcpus < 1 || vcpus > MaxVcpus)
        {
            throw new SettingsException("vapic.simulation.vcpus", $"must be between 1 and {MaxVcpus}, got {vcpus}");
        }

        var mode = ReadChoice(config, "vapic.simulation.mode", "xapic", "x2apic") == "x2apic" ? ApicModeSetting.X2Apic : ApicModeSetting.XApic;
        if (mode == ApicModeSetting.XApic && vcpus > MaxXApicId + 1)
        {
            throw new SettingsException("vapic.simulation.vcpus", $"an xapic VM has at most {MaxXApicId + 1} vCPUs (IDs 0 to 0x{MaxXApicId:X}), got {vcpus}; use mode = x2apic");
        }
        var ids = ReadApicIds(config, "vapic.simulation.apic-ids", vcpus, mode);
        var boot = ReadChoice(config, "vapic.simulation.boot", "all", "bsp") == "all" ? BootSetting.All : BootSetting.Bsp;
        var x2ApicDestinations = ReadChoice(config, "vapic.simulation.x2apic-destinations", "cluster", "physical") == "physical"
            ? X2ApicDestinationSetting.Physical
            : X2ApicDestinationSetting.Cluster;
        var bringUp = ReadChoice(config, "vapic.simulation.bring-up", "serial", "parallel") == "parallel"
            ? BringUpSetting.Parallel
            : BringUpSetting.Serial;
        var timerHz = ReadHz(config, "vapic.simulation.timer-hz");
        var tscHz = ReadHz(config, "vapic.simulation.tsc-hz");

        var duration = ReadDuration(config, "vapic.simulation.duration");
        if (duration <= TimeSpan.Zero || duration > MaxDuration)
        {
            throw new SettingsException("vapic.simulation.duration", $"must be more than 0 and at most 1h, got {DurationText(duration)}");
        }
        var tick = ReadDuration(config, "vapic.simulation.tick-period");
        if (tick <= TimeSpan.Zero || tick > duration)
        {
            throw new SettingsException("vapic.simulation.tick-period", $"must be more than 0 and at most the duration ({DurationText(duration)}), got {DurationText(tick)}");
        }

        var ipiRate = ReadInt(config, "vapic.simulation.ipi-rate-hz");
        if (ipiRate < 0 || ipiRate > MaxIpiRateHz)
        {
            throw new SettingsException("vapic.simulation.ipi-rate-hz", $"must be between 0 and {MaxIpiRateHz}, got {ipiRate}");
        }
        var seed = ReadInt(config, "vapic.simulation.seed");
        var initDelay = ReadDuration(config, "vapic.simulation.init-delay");
        if (initDelay < TimeSpan.Zero || initDelay > MaxInitDelay)
        {
            throw new SettingsException("vapic.simulation.init-delay", $"must be 0 to 1s, got {DurationText(initDelay)}");
        }

        var traceEnabled = ReadBool(config, "vapic.trace.enabled");
        var traceFile = ReadString(config, "vapic.trace.file", "must be a file name");
        if (traceEnabled && string.IsNullOrWhiteSpace(traceFile))
        {
            throw new SettingsException("vapic.trace.file", "must name a file when the trace is enabled");
        }
        var filter = ReadString(config, "vapic.trace.filter", "must be a Serilog expression in a string");
        if (!TraceFilter.TryCompile(filter, out _, out var filterError))
        {
            throw new SettingsException("vapic.trace.filter", $"not a valid Serilog expression: {filterError}");
        }

        var logLevel = ReadString(config, "akka.loglevel", $"must be one of {string.Join(", ", LogLevels)}").ToUpperInvariant();
        if (!LogLevels.Contains(logLevel))
        {
            throw new SettingsException("akka.loglevel", $"must be one of {string.Join(", ", LogLevels)}, got \"{logLevel}\"");
        }

        var vmThreads = ReadChoice(config, "vapic.vm-threads", "thread-pool", "vcpu") == "vcpu";

        var simulation = new SimulationSettings(
            vcpus, mode, ids, boot, timerHz, tscHz,
            duration.Ticks * NsPerTick, tick.Ticks * NsPerTick, ipiRate, seed, initDelay.Ticks * NsPerTick, x2ApicDestinations, bringUp);
        return new VapicSettings(simulation, new TraceSettings(traceEnabled, traceFile, filter), logLevel, vmThreads);
    }

    private static T Read<T>(Config config, string key, Func<string, T> read)
    {
        if (!config.HasPath(key))
        {
            throw new SettingsException(key, "missing");
        }
        try
        {
            return read(key);
        }
        catch (Exception e) when (e is not SettingsException)
        {
            throw new SettingsException(key, $"cannot be read as {typeof(T).Name}: {e.Message}", e);
        }
    }

    private static int ReadInt(Config config, string key)
    {
        var text = ReadString(config, key, "must be a whole number");
        if (!int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            throw new SettingsException(key, $"must be a whole number, got \"{text}\"");
        }
        return value;
    }

    private static long ReadHz(Config config, string key)
    {
        var text = ReadString(config, key, $"must be a frequency in Hz from 1 to {MaxHz}");
        if (!long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var hz) || hz < 1 || hz > MaxHz)
        {
            throw new SettingsException(key, $"must be a frequency in Hz from 1 to {MaxHz}, got \"{text}\"");
        }
        return hz;
    }

    private static string ReadString(Config config, string key) => ReadString(config, key, "must be a string");

    /// <summary>A single value; a list or an object is refused with <paramref name="expected"/> (what the key allows).</summary>
    private static string ReadString(Config config, string key, string expected)
    {
        var text = Read(config, key, k => config.GetString(k) ?? string.Empty);
        if (HoconShapes.ShapeOf(config, key) is { } shape)
        {
            throw new SettingsException(key, $"{expected}, got {shape}");
        }
        return text;
    }

    private static bool ReadBool(Config config, string key)
    {
        var text = ReadString(config, key, "must be on or off").ToLowerInvariant();
        return text switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new SettingsException(key, $"must be on or off, got \"{text}\""),
        };
    }

    /// <summary>A duration the way the configuration and the options write one (<c>4ms</c>, <c>1500us</c>, <c>2h</c>), not as a TimeSpan.</summary>
    internal static string DurationText(TimeSpan duration) => StressDurations.Format(duration.Ticks * NsPerTick);

    private static TimeSpan ReadDuration(Config config, string key)
    {
        var text = ReadString(config, key, "must be a duration such as 1s, 250ms or 4000us");
        // A whole number and ns, us, ms, s, m or h, as everywhere else in vapic's settings; HOCON's own units
        // (micros, 1.5ms, ...) as well. HOCON alone does not know "us".
        if (StressDurations.TryParseNanoseconds(text, out var ns))
        {
            return TimeSpan.FromTicks(ns / NsPerTick);
        }
        try
        {
            return config.GetTimeSpan(key, null, allowInfinite: false);
        }
        catch (Exception e)
        {
            throw new SettingsException(key, $"must be a duration such as 1s, 250ms or 4000us, got \"{text}\"", e);
        }
    }

    private static string ReadChoice(Config config, string key, params string[] allowed)
    {
        var text = ReadString(config, key, $"must be {string.Join(" or ", allowed)}").ToLowerInvariant();
        if (!allowed.Contains(text))
        {
            throw new SettingsException(key, $"must be {string.Join(" or ", allowed)}, got \"{text}\"");
        }
        return text;
    }

    private static IReadOnlyList<uint> ReadApicIds(Config config, string key, int vcpus, ApicModeSetting mode)
    {
        if (!config.HasPath(key))
        {
            throw new SettingsException(key, "missing");
        }
        if (!HoconShapes.TryReadList(config, key, out var items, out var problem))
        {
            throw new SettingsException(key, $"must be a list of APIC IDs such as [0, 2, 4, 6] or \"0x10\" strings (or [] for 0, 1, ...), got {problem}");
        }
        if (items.Count == 0)
        {
            return [];
        }
        if (items.Count != vcpus)
        {
            throw new SettingsException(key, $"must be empty or list exactly one ID per vCPU ({vcpus}), got {items.Count}");
        }

        var max = mode == ApicModeSetting.X2Apic ? MaxX2ApicId : MaxXApicId;
        var ids = new uint[items.Count];
        var seen = new HashSet<uint>();
        for (var i = 0; i < items.Count; i++)
        {
            if (!NumberSyntax.TryParse(items[i], out var id) || id > max)
            {
                throw new SettingsException(key, $"each ID must be a number from 0 to 0x{max:X} in {(mode == ApicModeSetting.X2Apic ? "x2apic" : "xapic")} mode, got \"{items[i]}\"");
            }
            if (!seen.Add((uint)id))
            {
                throw new SettingsException(key, $"IDs must be distinct, 0x{id:X} appears twice");
            }
            ids[i] = (uint)id;
        }
        return ids;
    }
}
