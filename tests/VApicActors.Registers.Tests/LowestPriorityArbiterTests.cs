using VApicActors.Registers;
using Xunit;

namespace VApicActors.Registers.Tests;

/// <summary>Lowest-priority arbitration (profile decision 6): focus first, lowest PPR, round robin after the previous winner.</summary>
public sealed class LowestPriorityArbiterTests
{
    private static LowestPriorityBid Bid(int index, uint id, byte ppr, bool focus = false, bool eligible = true) =>
        new(index, id, eligible, ppr, focus);

    [Fact]
    public void Choose_NoBids_ReturnsMinusOne()
    {
        Assert.Equal(-1, LowestPriorityArbiter.Choose([], null));
    }

    [Fact]
    public void Choose_NoEligibleBid_ReturnsMinusOne()
    {
        Assert.Equal(-1, LowestPriorityArbiter.Choose([Bid(0, 0, 0, eligible: false), Bid(1, 1, 0, focus: true, eligible: false)], null));
    }

    [Fact]
    public void Choose_LowestPpr_Wins()
    {
        LowestPriorityBid[] bids = [Bid(0, 0, 0x20), Bid(1, 1, 0x10), Bid(2, 2, 0x30)];

        Assert.Equal(1, LowestPriorityArbiter.Choose(bids, null));
        Assert.Equal(1, LowestPriorityArbiter.Choose(bids, 1));
    }

    [Fact]
    public void Choose_PprComparesAllEightBits()
    {
        LowestPriorityBid[] bids = [Bid(0, 0, 0x21), Bid(1, 1, 0x20), Bid(2, 2, 0x2F)];

        Assert.Equal(1, LowestPriorityArbiter.Choose(bids, null));
    }

    [Fact]
    public void Choose_FocusProcessor_WinsOverLowerPpr()
    {
        LowestPriorityBid[] bids = [Bid(0, 0, 0x00), Bid(1, 1, 0xE0, focus: true), Bid(2, 2, 0x00)];

        Assert.Equal(1, LowestPriorityArbiter.Choose(bids, null));
        Assert.Equal(1, LowestPriorityArbiter.Choose(bids, 1));
    }

    [Fact]
    public void Choose_IneligibleFocusOrLowest_IsSkipped()
    {
        LowestPriorityBid[] bids = [Bid(0, 0, 0x00, focus: true, eligible: false), Bid(1, 1, 0x00, eligible: false), Bid(2, 2, 0x40), Bid(3, 3, 0x30)];

        Assert.Equal(3, LowestPriorityArbiter.Choose(bids, null));
    }

    [Fact]
    public void Choose_Ties_RoundRobinInIdOrderAfterPreviousWinner()
    {
        LowestPriorityBid[] bids = [Bid(0, 0, 0x10), Bid(1, 1, 0x10), Bid(2, 2, 0x10)];

        uint? previous = null;
        var winners = new List<uint>();
        for (var round = 0; round < 7; round++)
        {
            var chosen = LowestPriorityArbiter.Choose(bids, previous);
            previous = bids[chosen].ApicId;
            winners.Add(previous.Value);
        }

        Assert.Equal([0u, 1u, 2u, 0u, 1u, 2u, 0u], winners);
    }

    [Fact]
    public void Choose_TiesWithUnorderedIds_GoByIdNotPosition()
    {
        LowestPriorityBid[] bids = [Bid(0, 5, 0x10), Bid(1, 2, 0x10), Bid(2, 9, 0x10), Bid(3, 7, 0x20)];

        Assert.Equal(1, LowestPriorityArbiter.Choose(bids, null));
        Assert.Equal(0, LowestPriorityArbiter.Choose(bids, 2));
        Assert.Equal(2, LowestPriorityArbiter.Choose(bids, 5));
        Assert.Equal(1, LowestPriorityArbiter.Choose(bids, 9));
    }

    [Fact]
    public void Choose_PreviousWinnerNotACandidate_TakesNextHigherId()
    {
        LowestPriorityBid[] bids = [Bid(0, 1, 0x10), Bid(1, 5, 0x10), Bid(2, 7, 0x10)];

        Assert.Equal(1, LowestPriorityArbiter.Choose(bids, 3));
        Assert.Equal(0, LowestPriorityArbiter.Choose(bids, 8));
    }

    [Fact]
    public void Choose_SeveralFocusProcessors_RoundRobinAmongThem()
    {
        LowestPriorityBid[] bids = [Bid(0, 0, 0x50, focus: true), Bid(1, 1, 0x00), Bid(2, 2, 0x90, focus: true)];

        Assert.Equal(0, LowestPriorityArbiter.Choose(bids, null));
        Assert.Equal(2, LowestPriorityArbiter.Choose(bids, 0));
        Assert.Equal(0, LowestPriorityArbiter.Choose(bids, 2));
    }

    [Fact]
    public void Choose_BidsFromApics_LowestTprWins()
    {
        using var cpu0 = ApicHarness.XApic(0);
        using var cpu1 = ApicHarness.XApic(1, bsp: false);
        cpu0.W(ApicOffsets.Tpr, 0x20);
        cpu1.W(ApicOffsets.Tpr, 0x10);

        var chosen = LowestPriorityArbiter.Choose([cpu0.Apic.Bid(0x41), cpu1.Apic.Bid(0x41)], null);

        Assert.Equal(1, chosen);
    }
}
