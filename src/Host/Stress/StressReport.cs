using System.Text.Json.Serialization;
using VApicActors.Actors;

namespace VApicActors.Host.Stress;

/// <summary>Percentiles of a latency distribution, in nanoseconds (wall or virtual, as the report's time base says).</summary>
public sealed record LatencySummary(long P50, long P99, long P999, long Max, long Samples)
{
    public static LatencySummary Of(LatencyHistogram h) =>
        new(h.Percentile(0.50), h.Percentile(0.99), h.Percentile(0.999), h.Max, h.Count);
}

/// <summary>One checked invariant: whether it held, and its numbers (or the first violations).</summary>
public sealed record InvariantResult(string Name, bool Holds, string Detail);

/// <summary>What one vCPU did and received.</summary>
/// <remarks>
/// <paramref name="Accepted"/>, <paramref name="Coalesced"/> and <paramref name="Dropped"/> count interrupts from every
/// source: IPIs, device MSIs and the vCPU's own LVTs (its timer above all); the <c>Local…</c> fields are the part that
/// came from its LVTs. In the message trace each is an event of this APIC whose <c>Detail</c> begins with the outcome,
/// and the event's name says the source: <c>Accepted</c>, <c>Coalesced</c>, <c>Dropped</c> without a <c>Register</c>
/// (IPIs), <c>Msi</c> (device MSIs with fixed or lowest-priority delivery), and <c>TimerFired</c> (counting N when <c>Detail</c> ends in <c>expiries=N</c>),
/// <c>Lint</c> or any other event with an LVT as its <c>Register</c> (local). So <c>Coalesced</c> events alone are
/// <c>coalesced - localCoalesced</c> less the coalesced MSIs. <paramref name="FixedReceived"/> and
/// <paramref name="LowestPriorityReceived"/> count messages only (IPIs and MSIs, not LVTs): they add up to
/// accepted + coalesced + dropped less the local parts.
/// </remarks>
/// <param name="FixedIpisSent">Fixed IPIs sent, one per ICR (or SELF IPI) write whatever the destinations.</param>
/// <param name="FixedReceived">Fixed messages that reached this APIC: IPIs and device MSIs.</param>
/// <param name="LowestPriorityReceived">Lowest-priority messages this APIC won.</param>
/// <param name="Accepted">Interrupts that set an IRR bit, from every source (IPIs, MSIs, the vCPU's own LVTs).</param>
/// <param name="Coalesced">Interrupts absorbed by an IRR bit already set, from every source.</param>
/// <param name="Dropped">Interrupts discarded by an SDM rule (masked LVT, disabled APIC, illegal vector, …), from every source.</param>
/// <param name="LocalAccepted">The part of <paramref name="Accepted"/> that came from the vCPU's own LVTs (timer, LINT, error, …).</param>
/// <param name="LocalCoalesced">The part of <paramref name="Coalesced"/> that came from the vCPU's own LVTs.</param>
/// <param name="LocalDropped">The part of <paramref name="Dropped"/> that came from the vCPU's own LVTs.</param>
/// <param name="Nmis">NMI messages delivered.</param>
public sealed record VcpuStressReport(
    int Vm,
    int Vcpu,
    uint ApicId,
    long Operations,
    long Exits,
    long FixedIpisSent,
    long LowestPriorityIpisSent,
    long OtherIpisSent,
    long FixedReceived,
    long LowestPriorityReceived,
    long Accepted,
    long Coalesced,
    long Dropped,
    long LocalAccepted,
    long LocalCoalesced,
    long LocalDropped,
    long Nmis,
    long Acknowledged,
    long Eoied,
    long CallFunctionQueued,
    long CallFunctionRan,
    LatencySummary LatencyToEoiNs);

/// <summary>
/// The result of a stress run. In a sequential run every field is computed from the seeded workload and virtual time
/// (the rates are per virtual second), so the same seed gives the same report; wall-clock fields are left out (null).
/// </summary>
public sealed record StressReport
{
    public required string Run { get; init; }
    public required long Seed { get; init; }
    public required int Vms { get; init; }
    public required int VcpusPerVm { get; init; }
    public required string Mode { get; init; }
    public required string ApicIds { get; init; }
    public required string Mix { get; init; }

    /// <summary>"wall" (concurrent runs) or "virtual" (sequential runs): what the rates and latencies are measured in.</summary>
    public required string TimeBase { get; init; }

    /// <summary>Seconds of the time base the workload ran for.</summary>
    public required double ElapsedSeconds { get; init; }

    /// <summary>
    /// The run was interrupted (Ctrl-C, SIGTERM) and stopped issuing operations early: the report and its checks cover
    /// the operations that ran, fewer than asked for.
    /// </summary>
    public bool Interrupted { get; init; }

    public required long Operations { get; init; }
    public required long Exits { get; init; }

    /// <summary>Interrupt messages IPIs brought to a destination (fixed, lowest priority and NMI; device MSIs not included).</summary>
    public required long Ipis { get; init; }

    public required double OperationsPerSecond { get; init; }
    public required double ExitsPerSecond { get; init; }
    public required double IpisPerSecond { get; init; }

    /// <summary>Latency from the ICR write to acceptance (or coalescing) at the destination.</summary>
    public required LatencySummary LatencyNs { get; init; }

    /// <summary>Latency from the ICR write that set an IRR bit to the EOI of that vector at the destination.</summary>
    public required LatencySummary LatencyToEoiNs { get; init; }

    public required IReadOnlyList<InvariantResult> Invariants { get; init; }

    public bool AllInvariantsHold => Invariants.All(i => i.Holds);

    public required IReadOnlyDictionary<string, long> OperationsByKind { get; init; }

    /// <summary>What became of the fixed messages (IPIs and MSIs), by outcome, over every vCPU.</summary>
    public required IReadOnlyDictionary<string, long> FixedOutcomes { get; init; }

    public required IReadOnlyList<VcpuStressReport> PerVcpu { get; init; }

    /// <summary>
    /// A report of a run with <paramref name="settings"/>: what describes the run comes from the settings, the rates
    /// from the totals over <paramref name="elapsedSeconds"/>.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public StressReport(StressSettings settings, double elapsedSeconds, (long Operations, long Exits, long Ipis) totals,
        (LatencySummary ToAcceptance, LatencySummary ToEoi) latency, IReadOnlyList<InvariantResult> invariants,
        IReadOnlyDictionary<string, long> operationsByKind, IReadOnlyDictionary<string, long> fixedOutcomes, IReadOnlyList<VcpuStressReport> perVcpu)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var seconds = Math.Max(elapsedSeconds, 1e-9);
        Run = settings.Sequential ? "sequential" : "concurrent";
        Seed = settings.Seed;
        Vms = settings.Vms;
        VcpusPerVm = settings.Vcpus;
        Mode = settings.X2Apic ? "x2apic" : "xapic";
        ApicIds = settings.SparseApicIds ? "sparse" : "dense";
        Mix = settings.Mix.ToString();
        TimeBase = settings.Sequential ? "virtual" : "wall";
        ElapsedSeconds = elapsedSeconds;
        (Operations, Exits, Ipis) = totals;
        OperationsPerSecond = Operations / seconds;
        ExitsPerSecond = Exits / seconds;
        IpisPerSecond = Ipis / seconds;
        (LatencyNs, LatencyToEoiNs) = latency;
        Invariants = invariants;
        OperationsByKind = operationsByKind;
        FixedOutcomes = fixedOutcomes;
        PerVcpu = perVcpu;
    }

    /// <summary>A report read back or built field by field.</summary>
    public StressReport()
    {
    }

    /// <summary>Wall-clock seconds it took to create the VMs (concurrent runs only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? VmCreationSeconds { get; init; }

    /// <summary>Wall-clock seconds of the whole run (concurrent runs only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? WallSeconds { get; init; }

    /// <summary>
    /// What fault injection (<c>lose-one-ipi</c>) did when it was armed: the fixed IPI it lost, or that the fault vCPU
    /// sent none that reached an APIC, so that nothing was lost.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FaultInjection { get; init; }

    /// <summary>A cluster run (<c>--cluster</c>): what each node ran.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<StressNodeReport>? Nodes { get; init; }

    /// <summary>A cluster run (<c>--cluster</c>): each VM's name, node, seed and totals.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<StressVmSummary>? PerVm { get; init; }
}

/// <summary>One node of a cluster run: how many of the VMs it ran and their operations.</summary>
public sealed record StressNodeReport(string Node, int Vms, long Operations);

/// <summary>
/// One VM of a cluster run: its number in the report (<see cref="VcpuStressReport.Vm"/>), entity name, node, seed, totals
/// and whether its invariants held; <paramref name="Error"/> when it did not run.
/// </summary>
public sealed record StressVmSummary(int Vm, string Name, string Node, long Seed, long Operations, long Exits, long Ipis,
    double ElapsedSeconds, bool AllInvariantsHold, string? Error);
