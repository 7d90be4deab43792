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

    /// <summary>Interrupts that set an IRR bit, from any source.</summary>
    public long Accepted => Of(FixedOutcomes, AcceptOutcome.Accepted) + Of(LowestPriorityOutcomes, AcceptOutcome.Accepted)
        + Of(LocalOutcomes, AcceptOutcome.Accepted);

    /// <summary>Interrupts absorbed by an IRR bit already set, from any source.</summary>
    public long Coalesced => Of(FixedOutcomes, AcceptOutcome.Coalesced) + Of(LowestPriorityOutcomes, AcceptOutcome.Coalesced)
        + Of(LocalOutcomes, AcceptOutcome.Coalesced);

    public static long Of(ImmutableArray<long> outcomes, AcceptOutcome outcome) => outcomes[(int)outcome];

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
