using System.Collections.Immutable;
using VApicActors.Registers;

namespace VApicActors.Actors;

/// <summary>
/// What one vAPIC has counted since it started: every interrupt message that reached it by what became of it
/// (<see cref="AcceptOutcome"/>, indexed by its value), the core's acknowledges and EOIs, the IPIs it sent, and,
/// when a core is attached with a latency clock, the latencies of its fixed interrupts.
/// </summary>
/// <param name="Vcpu">The vCPU's index.</param>
/// <param name="ApicId">The APIC ID routing sees now.</param>
/// <param name="FixedOutcomes">Fixed messages from IPIs and MSIs (not lowest priority), by outcome.</param>
/// <param name="LowestPriorityOutcomes">Lowest-priority messages this APIC won, by outcome.</param>
/// <param name="OtherOutcomes">NMI, SMI, INIT and Start-up messages, by outcome.</param>
/// <param name="LocalOutcomes">Interrupts of its own LVTs (timer, LINT, error, …), by outcome.</param>
/// <param name="Acknowledged">Acknowledges that took a vector.</param>
/// <param name="Eoied">EOIs that cleared an ISR bit.</param>
/// <param name="FixedIpisSent">Fixed IPIs sent (ICR and SELF IPI writes), one per write whatever the destinations.</param>
/// <param name="LowestPriorityIpisSent">Lowest-priority IPIs sent.</param>
/// <param name="OtherIpisSent">NMI, SMI, INIT and Start-up IPIs sent.</param>
/// <param name="IpisLost">Fixed IPIs this APIC sent that fault injection lost on the way.</param>
/// <param name="ToAcceptance">Latency from the ICR write to acceptance (or coalescing) at this APIC.</param>
/// <param name="ToEoi">Latency from the ICR write that set an IRR bit to the EOI of that vector here.</param>
public sealed record ApicCounters(
    int Vcpu,
    uint ApicId,
    ImmutableArray<long> FixedOutcomes,
    ImmutableArray<long> LowestPriorityOutcomes,
    ImmutableArray<long> OtherOutcomes,
    ImmutableArray<long> LocalOutcomes,
    long Acknowledged,
    long Eoied,
    long FixedIpisSent,
    long LowestPriorityIpisSent,
    long OtherIpisSent,
    long IpisLost,
    LatencyHistogram ToAcceptance,
    LatencyHistogram ToEoi)
{
    /// <summary>Number of <see cref="AcceptOutcome"/> values (the length of each outcome array).</summary>
    public static readonly int OutcomeCount = Enum.GetValues<AcceptOutcome>().Length;

    /// <summary>Fixed messages that reached this APIC, whatever became of them.</summary>
    public long FixedArrived => Sum(FixedOutcomes);

    /// <summary>Lowest-priority messages this APIC won, whatever became of them.</summary>
    public long LowestPriorityArrived => Sum(LowestPriorityOutcomes);

    /// <summary>Interrupts that set an IRR bit, from any source: fixed and lowest-priority messages and the APIC's own LVTs.</summary>
    public long Accepted => Of(FixedOutcomes, AcceptOutcome.Accepted) + Of(LowestPriorityOutcomes, AcceptOutcome.Accepted)
        + Of(LocalOutcomes, AcceptOutcome.Accepted);

    /// <summary>Interrupts absorbed by an IRR bit already set, from any source: fixed and lowest-priority messages and the APIC's own LVTs.</summary>
    public long Coalesced => Of(FixedOutcomes, AcceptOutcome.Coalesced) + Of(LowestPriorityOutcomes, AcceptOutcome.Coalesced)
        + Of(LocalOutcomes, AcceptOutcome.Coalesced);

    /// <summary>
    /// Interrupts discarded by an SDM rule (masked LVT, disabled APIC, illegal vector, …), from any source: fixed and
    /// lowest-priority messages and the APIC's own LVTs.
    /// </summary>
    public long Dropped => DroppedOf(FixedOutcomes) + DroppedOf(LowestPriorityOutcomes) + DroppedOf(LocalOutcomes);

    public static long Of(ImmutableArray<long> outcomes, AcceptOutcome outcome) => outcomes[(int)outcome];

    /// <summary>The outcomes of <paramref name="outcomes"/> that discarded the interrupt (every <c>Dropped…</c> value).</summary>
    public static long DroppedOf(ImmutableArray<long> outcomes)
    {
        long sum = 0;
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (IsDropped((AcceptOutcome)i))
            {
                sum += outcomes[i];
            }
        }
        return sum;
    }

    /// <summary>Whether <paramref name="outcome"/> discarded the interrupt (the trace names it <c>Dropped</c>).</summary>
    public static bool IsDropped(AcceptOutcome outcome) => outcome is AcceptOutcome.DroppedHardwareDisabled
        or AcceptOutcome.DroppedSoftwareDisabled or AcceptOutcome.DroppedIllegalVector or AcceptOutcome.DroppedNotRunning
        or AcceptOutcome.DroppedNotWaitingForSipi or AcceptOutcome.DroppedNoEffect or AcceptOutcome.DroppedMasked;

    private static long Sum(ImmutableArray<long> outcomes)
    {
        long sum = 0;
        foreach (var n in outcomes)
        {
            sum += n;
        }
        return sum;
    }
}
