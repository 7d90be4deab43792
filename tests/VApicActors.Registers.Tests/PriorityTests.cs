using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Behaviour family D: TPR, PPR, acceptance, nesting, coalescing and TMR (SDM 10.8).</summary>
public sealed class PriorityTests
{
    private const int None = -1;

    [Theory]
    [InlineData(0x00, None, 0x00)]
    [InlineData(0x35, None, 0x35)]
    [InlineData(0x35, 0x51, 0x50)]
    [InlineData(0x4F, 0x51, 0x50)]
    [InlineData(0x5A, 0x51, 0x5A)]
    [InlineData(0x62, 0x51, 0x62)]
    [InlineData(0xF0, 0x51, 0xF0)]
    [InlineData(0x50, 0x5F, 0x50)]
    [InlineData(0x00, 0xFF, 0xF0)]
    public void Ppr_TprAndVectorInService_FollowsTheTable(int tpr, int isrv, int expected)
    {
        using var h = ApicHarness.XApic();
        if (isrv != None) h.PutInService(isrv);

        h.W(ApicOffsets.Tpr, (uint)tpr);

        Assert.Equal((uint)expected, h.R(ApicOffsets.Ppr));
        Assert.Equal(expected, h.Apic.Ppr);
    }

    [Fact]
    public void Ppr_EveryTprWithEveryVectorInService_MatchesTheFormula()
    {
        using var h = ApicHarness.XApic();
        for (var isrv = FirstLegalVector; isrv < VectorCount; isrv++)
        {
            h.W(ApicOffsets.Tpr, 0);
            h.PutInService(isrv);
            for (uint tpr = 0; tpr <= 0xFF; tpr++)
            {
                h.W(ApicOffsets.Tpr, tpr);
                Assert.Equal(ExpectedPpr((byte)tpr, isrv), h.Apic.Ppr);
            }
            h.Eoi();
            Assert.Equal(h.R(ApicOffsets.Tpr), h.R(ApicOffsets.Ppr));
        }
    }

    [Fact]
    public void PendingVector_AcceptanceThreshold_FollowsPprClass()
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.Tpr, 0x40);
        Assert.Equal(AcceptOutcome.Accepted, h.Inject(0x45));
        Assert.True(h.Apic.Irr.Contains(0x45));
        Assert.Equal(None, h.Apic.PendingVector);

        h.Inject(0x50);
        Assert.Equal(0x50, h.Apic.PendingVector);

        h.W(ApicOffsets.Tpr, 0x50);
        Assert.Equal(None, h.Apic.PendingVector);

        h.W(ApicOffsets.Tpr, 0x4F);
        Assert.Equal(0x50, h.Apic.PendingVector);
    }

    [Fact]
    public void PendingVector_Vector20WithTprClass2Or1_BlockedThenDelivered()
    {
        using var h = ApicHarness.XApic();
        h.Inject(0x20);

        h.W(ApicOffsets.Tpr, 0x20);
        Assert.Equal(None, h.Apic.PendingVector);
        Assert.Equal(h.R(ApicOffsets.Tpr), h.R(ApicOffsets.Ppr));

        h.W(ApicOffsets.Tpr, 0x10);
        Assert.Equal(0x20, h.Apic.PendingVector);
        Assert.Equal(h.R(ApicOffsets.Tpr), h.R(ApicOffsets.Ppr));
    }

    [Fact]
    public void PendingVector_OnlyTheHighestIrrCounts()
    {
        using var h = ApicHarness.XApic();
        h.PutInService(0x80);
        h.Inject(0x75);
        h.Inject(0x31);

        Assert.Equal(None, h.Apic.PendingVector);
        Assert.Equal(None, h.Ack());
    }

    [Fact]
    public void AckAndEoi_NestedClasses_ServeInPriorityOrder()
    {
        using var h = ApicHarness.XApic();
        h.Inject(0x31);
        h.Inject(0x62);
        h.Inject(0x80);

        Assert.Equal(0x80, h.Ack());
        Assert.Equal(None, h.Apic.PendingVector);

        h.Inject(0x90);
        Assert.Equal(0x90, h.Apic.PendingVector);
        Assert.Equal(0x90, h.Ack());
        Assert.Equal(VectorSet.Of(0x80, 0x90), h.Apic.Isr);
        Assert.Equal(0x90u, h.R(ApicOffsets.Ppr));

        h.Eoi();
        Assert.Equal(VectorSet.Of(0x80), h.Apic.Isr);
        Assert.Equal(0x80u, h.R(ApicOffsets.Ppr));

        h.Eoi();
        Assert.True(h.Apic.Isr.IsEmpty);
        Assert.Equal(0u, h.R(ApicOffsets.Ppr));
        Assert.Equal(0x62, h.Apic.PendingVector);
        Assert.Equal(0x62, h.Ack());
        h.Eoi();
        Assert.Equal(0x31, h.Ack());
    }

    [Fact]
    public void Accept_SameVectorTwice_Coalesces()
    {
        using var h = ApicHarness.XApic();
        var taken = 0;

        Assert.Equal(AcceptOutcome.Accepted, h.Inject(0x40));
        Assert.Equal(AcceptOutcome.Coalesced, h.Inject(0x40));
        Assert.Equal(1u, h.R(ApicOffsets.Irr0 + 2 * ApicOffsets.Stride));

        if (h.Ack() == 0x40) taken++;
        Assert.Equal(0u, h.R(ApicOffsets.Irr0 + 2 * ApicOffsets.Stride));
        Assert.Equal(1u, h.R(ApicOffsets.Isr0 + 2 * ApicOffsets.Stride));

        Assert.Equal(AcceptOutcome.Accepted, h.Inject(0x40));
        Assert.Equal(1u, h.R(ApicOffsets.Irr0 + 2 * ApicOffsets.Stride));
        Assert.Equal(1u, h.R(ApicOffsets.Isr0 + 2 * ApicOffsets.Stride));
        Assert.Equal(None, h.Apic.PendingVector);

        h.Eoi();
        if (h.Ack() == 0x40) taken++;
        h.Eoi();

        Assert.Equal(2, taken);
        Assert.Equal(None, h.Ack());
        Assert.True(h.Apic.Isr.IsEmpty);
    }

    [Fact]
    public void Tmr_RecordsTriggerAtAcceptanceAndIsSticky()
    {
        using var h = ApicHarness.XApic();

        h.Inject(0x61, TriggerMode.Level);
        Assert.Equal(2u, h.R(ApicOffsets.Tmr0 + 3 * ApicOffsets.Stride));

        Assert.Equal(0x61, h.Ack());
        h.Eoi();
        Assert.Equal(2u, h.R(ApicOffsets.Tmr0 + 3 * ApicOffsets.Stride));

        h.Inject(0x61, TriggerMode.Edge);
        Assert.Equal(0u, h.R(ApicOffsets.Tmr0 + 3 * ApicOffsets.Stride));
    }

    [Fact]
    public void Accept_EveryLegalVector_SetsItsIrrBitAndTmrByTrigger()
    {
        using var h = ApicHarness.XApic();
        for (var vector = FirstLegalVector; vector < VectorCount; vector++)
        {
            var trigger = vector % 2 == 0 ? TriggerMode.Level : TriggerMode.Edge;

            Assert.Equal(AcceptOutcome.Accepted, h.Inject(vector, trigger));

            Assert.Equal(1u << (vector & 31), h.VectorWord(ApicOffsets.Irr0, vector));
            Assert.Equal(trigger == TriggerMode.Level ? 1u << (vector & 31) : 0, h.VectorWord(ApicOffsets.Tmr0, vector));
            Assert.Equal(VectorSet.Of(vector), h.Apic.Irr);
            Assert.Equal(vector, h.Apic.PendingVector);
            Assert.Equal(vector, h.Ack());
            Assert.Equal(VectorSet.Of(vector), h.Apic.Isr);
            Assert.Equal(1u << (vector & 31), h.VectorWord(ApicOffsets.Isr0, vector));
            Assert.Equal((byte)(vector & 0xF0), h.Apic.Ppr);
            h.Eoi();
            Assert.True(h.Apic.Isr.IsEmpty);
            h.Inject(vector, TriggerMode.Edge);
            h.Ack();
            h.Eoi();
        }
    }

    [Fact]
    public void Accept_EveryIllegalVector_IsDroppedWithReceiveIllegalVector()
    {
        using var h = ApicHarness.XApic();
        for (var vector = 0; vector < FirstLegalVector; vector++)
        {
            Assert.Equal(AcceptOutcome.DroppedIllegalVector, h.Inject(vector));
            Assert.Equal(AcceptOutcome.DroppedIllegalVector, h.Inject(vector, TriggerMode.Level));
            Assert.True(h.Apic.Irr.IsEmpty);
            Assert.True(h.Apic.Tmr.IsEmpty);
            Assert.Equal(EsrReceiveIllegalVector, h.LatchEsr());
        }
        Assert.Equal(0u, h.R(ApicOffsets.Irr0));
    }

    [Fact]
    public void Accept_AllLegalVectorsAtOnce_AcknowledgeTakesThemHighestFirst()
    {
        using var h = ApicHarness.XApic();
        for (var vector = FirstLegalVector; vector < VectorCount; vector++) h.Inject(vector);
        Assert.Equal(VectorCount - FirstLegalVector, h.Apic.Irr.Count);
        for (uint word = 1; word < 8; word++)
        {
            Assert.Equal(0xFFFF_FFFFu, h.R(ApicOffsets.Irr0 + word * ApicOffsets.Stride));
        }
        Assert.Equal(0xFFFF_0000u, h.R(ApicOffsets.Irr0));

        for (var vector = VectorCount - 1; vector >= FirstLegalVector; vector--)
        {
            Assert.Equal(vector, h.Ack());
            h.Eoi();
        }
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.True(h.Apic.Isr.IsEmpty);
    }

    [Fact]
    public void Accept_NewDeliverableVector_ReportsItOnce()
    {
        using var h = ApicHarness.XApic();

        h.Inject(0x50);
        h.Inject(0x50);
        Assert.Equal([(byte)0x50], h.Fx.Deliverable);

        h.Inject(0x60);
        Assert.Equal([(byte)0x50, (byte)0x60], h.Fx.Deliverable);
    }

    [Fact]
    public void Accept_BlockedByTpr_ReportsDeliverableOnlyWhenTprDrops()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Tpr, 0x40);

        h.Inject(0x45);
        Assert.Empty(h.Fx.Deliverable);

        h.W(ApicOffsets.Tpr, 0x30);
        Assert.Equal([(byte)0x45], h.Fx.Deliverable);
    }

    [Fact]
    public void Eoi_UnblockingAPendingVector_ReportsItDeliverable()
    {
        using var h = ApicHarness.XApic();
        h.PutInService(0x80);
        h.Inject(0x70);
        h.Fx.Clear();

        h.Eoi();

        Assert.Equal([(byte)0x70], h.Fx.Deliverable);
    }

    [Fact]
    public void Bid_ReflectsPprEligibilityAndFocus()
    {
        using var h = ApicHarness.XApic(3, bsp: false);
        h.W(ApicOffsets.Tpr, 0x25);
        h.Inject(0x41);

        Assert.Equal(new LowestPriorityBid(0, 3, true, 0x25, true), h.Apic.Bid(0x41));
        Assert.Equal(new LowestPriorityBid(0, 3, true, 0x25, false), h.Apic.Bid(0x42));

        h.W(ApicOffsets.Svr, SvrEnabled | SvrFocusDisable);
        Assert.False(h.Apic.Bid(0x41).Focus);

        h.W(ApicOffsets.Svr, SvrReset);
        Assert.False(h.Apic.Bid(0x41).Eligible);
    }
}
