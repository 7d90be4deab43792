using System.Text.Json;
using VApicActors.Actors;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Cluster;

/// <summary>
/// The settings of one VM of a cluster stress run, as they travel in <see cref="StressVmRun"/> (JSON): everything of
/// <see cref="StressSettings"/> that shapes the workload, for a run of exactly one VM.
/// </summary>
public sealed record StressVmSpec(
    int Vcpus,
    bool X2Apic,
    bool SparseApicIds,
    long DurationTicks,
    long Operations,
    long SequentialOperations,
    long SequentialOperationNs,
    long Seed,
    IReadOnlyDictionary<string, int> Mix,
    long ClockStepNs,
    long TimerPeriodNs,
    bool TraceCheck,
    int TraceCheckCapacity,
    bool LoseOneIpi,
    int FaultVcpu,
    bool Sequential)
{
    /// <summary>The one-VM part of <paramref name="s"/> (its seed, operations and fault injection as given).</summary>
    public static StressVmSpec Of(StressSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new StressVmSpec(s.Vcpus, s.X2Apic, s.SparseApicIds, s.Duration.Ticks, s.Operations, s.SequentialOperations,
            s.SequentialOperationNs, s.Seed, Enum.GetValues<OperationKind>().ToDictionary(OperationMix.Key, k => s.Mix.Weights[(int)k]),
            s.ClockStepNs, s.TimerPeriodNs, s.TraceCheck, s.TraceCheckCapacity, s.LoseOneIpi, s.FaultVcpu, s.Sequential);
    }

    /// <summary>The settings of a run of this one VM (checked; throws <see cref="StressSettingsException"/>).</summary>
    public StressSettings ToSettings()
    {
        var weights = new Dictionary<OperationKind, int>();
        foreach (var (key, weight) in Mix)
        {
            if (!Enum.TryParse<OperationKind>(key, ignoreCase: true, out var kind))
            {
                throw new StressSettingsException(StressSettings.Section + ".mix", "unknown operation kind '" + key + "'");
            }
            weights[kind] = weight;
        }
        var settings = new StressSettings
        {
            Vcpus = Vcpus,
            Vms = 1,
            X2Apic = X2Apic,
            SparseApicIds = SparseApicIds,
            Duration = TimeSpan.FromTicks(DurationTicks),
            Operations = Operations,
            SequentialOperations = SequentialOperations,
            SequentialOperationNs = SequentialOperationNs,
            Seed = Seed,
            Mix = new OperationMix(weights),
            ClockStepNs = ClockStepNs,
            TimerPeriodNs = TimerPeriodNs,
            TraceCheck = TraceCheck,
            TraceCheckCapacity = TraceCheckCapacity,
            LoseOneIpi = LoseOneIpi,
            FaultVcpu = FaultVcpu,
            Progress = false,
            Sequential = Sequential,
        };
        settings.Validate();
        return settings;
    }

    public string ToJson() => JsonSerializer.Serialize(this, StressOutput.Json);

    public static StressVmSpec FromJson(string json) =>
        JsonSerializer.Deserialize<StressVmSpec>(json, StressOutput.Json) ?? throw new JsonException("no stress VM settings");
}

/// <summary>
/// What one stress VM sends back (JSON in <see cref="StressVmDone"/>): its complete report and the latency histograms
/// its percentiles came from, so that reports of several VMs add up exactly.
/// </summary>
public sealed record StressVmReport(StressReport Report, HistogramData ToAcceptance, HistogramData ToEoi)
{
    public string ToJson() => JsonSerializer.Serialize(this, StressOutput.Json);

    public static StressVmReport FromJson(string json) =>
        JsonSerializer.Deserialize<StressVmReport>(json, StressOutput.Json) ?? throw new JsonException("no stress VM report");
}

/// <summary>A <see cref="LatencyHistogram"/> written down: samples per bucket and the largest sample.</summary>
public sealed record HistogramData(long[] Buckets, long Max)
{
    public static HistogramData Of(LatencyHistogram h)
    {
        ArgumentNullException.ThrowIfNull(h);
        return new HistogramData([.. h.Buckets], h.Max);
    }

    public LatencyHistogram ToHistogram() => LatencyHistogram.FromBuckets(Buckets, Max);
}
