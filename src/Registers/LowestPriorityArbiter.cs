namespace VApicActors.Registers;

/// <summary>
/// The profile's lowest-priority choice (decision 6 of the reference profile): among eligible
/// candidates, focus processors first, else the lowest PPR (all 8 bits); ties go round robin in
/// APIC-ID order, starting after the previous winner (before any, the lowest ID).
/// </summary>
public static class LowestPriorityArbiter
{
    /// <summary>The position in <paramref name="bids"/> of the winner, or -1 when no candidate is eligible.</summary>
    /// <param name="bids">One bid per matched APIC.</param>
    /// <param name="previousWinner">The APIC ID of the VM's previous lowest-priority winner, if any.</param>
    public static int Choose(ReadOnlySpan<LowestPriorityBid> bids, uint? previousWinner)
    {
        var anyFocus = false;
        var lowestPpr = int.MaxValue;
        foreach (var bid in bids)
        {
            if (!bid.Eligible) continue;
            anyFocus |= bid.Focus;
            if (bid.Ppr < lowestPpr) lowestPpr = bid.Ppr;
        }
        if (lowestPpr == int.MaxValue)
        {
            return -1;
        }
        // Round robin: the first tied candidate with an ID above the previous winner, else the lowest ID.
        var after = -1;
        var lowest = -1;
        for (var i = 0; i < bids.Length; i++)
        {
            var bid = bids[i];
            var tied = bid.Eligible && (anyFocus ? bid.Focus : bid.Ppr == lowestPpr);
            if (!tied) continue;
            if (lowest < 0 || bid.ApicId < bids[lowest].ApicId) lowest = i;
            if (previousWinner is uint prev && bid.ApicId > prev && (after < 0 || bid.ApicId < bids[after].ApicId)) after = i;
        }
        return after >= 0 ? after : lowest;
    }
}
