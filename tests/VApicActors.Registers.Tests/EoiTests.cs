using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Behaviour family E: EOI, its broadcast to the I/O APICs and SVR bit 12 (SDM 10.8.5).</summary>
public sealed class EoiTests
{
    [Fact]
    public void Write_EoiClearsHighestIsrAndIgnoresTheValue()
    {
        using var h = ApicHarness.XApic();
        h.PutInService(0x40);
        h.PutInService(0x90);
        Assert.Equal(0x0001_0000u, h.R(ApicOffsets.Isr0 + 4 * ApicOffsets.Stride));

        h.W(ApicOffsets.Eoi, 0x40);
        Assert.Equal(0u, h.R(ApicOffsets.Isr0 + 4 * ApicOffsets.Stride));
        Assert.Equal(1u, h.R(ApicOffsets.Isr0 + 2 * ApicOffsets.Stride));
        Assert.Equal(0x40u, h.R(ApicOffsets.Ppr));

        h.W(ApicOffsets.Tpr, 0x23);
        h.W(ApicOffsets.Eoi, 0x4D);
        Assert.True(h.Apic.Isr.IsEmpty);
        Assert.Equal(0x23u, h.R(ApicOffsets.Ppr));
    }

    [Fact]
    public void Write_EoiWithEmptyIsr_ChangesNothing()
    {
        using var h = ApicHarness.XApic();
        h.Inject(0x61, TriggerMode.Level);
        var before = h.Apic.Snapshot(h.Now);

        h.W(ApicOffsets.Eoi, 0);

        Assert.Equal(before, h.Apic.Snapshot(h.Now));
        Assert.Empty(h.Fx.EoiBroadcasts);
        Assert.Equal(0u, h.LatchEsr());
    }

    [Fact]
    public void Eoi_OneVectorPerClassInService_ClearsExactlyTheHighestEachTime()
    {
        using var h = ApicHarness.XApic();
        var inService = new List<int>();
        for (var vector = 0x1F; vector < VectorCount; vector += 0x10)
        {
            h.PutInService(vector);
            inService.Add(vector);
        }
        Assert.Equal(15, h.Apic.Isr.Count);

        while (inService.Count > 0)
        {
            inService.RemoveAt(inService.Count - 1);
            h.Eoi();
            Assert.Equal(VectorSet.Of([.. inService]), h.Apic.Isr);
            Assert.Equal(ExpectedPpr(0, inService.Count == 0 ? -1 : inService[^1]), h.Apic.Ppr);
        }
    }

    [Fact]
    public void Eoi_LevelTriggeredVector_BroadcastsToIoApics()
    {
        using var h = ApicHarness.XApic();
        h.PutInService(0x61, TriggerMode.Level);

        h.Eoi();

        Assert.Equal([(byte)0x61], h.Fx.EoiBroadcasts);
    }

    [Fact]
    public void Eoi_EdgeTriggeredVector_SendsNoBroadcast()
    {
        using var h = ApicHarness.XApic();
        h.PutInService(0x61);

        h.Eoi();

        Assert.Empty(h.Fx.EoiBroadcasts);
        Assert.True(h.Apic.Isr.IsEmpty);
    }

    [Fact]
    public void Eoi_EveryLevelVector_BroadcastsThatVector()
    {
        using var h = ApicHarness.XApic();
        for (var vector = FirstLegalVector; vector < VectorCount; vector++)
        {
            h.PutInService(vector, TriggerMode.Level);
            h.Eoi();
            Assert.Equal((byte)vector, Assert.Single(h.Fx.EoiBroadcasts));
            h.Fx.Clear();
        }
    }

    [Fact]
    public void Eoi_WithSvrSuppressBit_ClearsIsrWithoutBroadcast()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.Svr, SvrEnabledSuppressEoi);
        Assert.Equal(SvrEnabledSuppressEoi, h.R(ApicOffsets.Svr));
        h.PutInService(0x61, TriggerMode.Level);

        h.Eoi();

        Assert.True(h.Apic.Isr.IsEmpty);
        Assert.Empty(h.Fx.EoiBroadcasts);

        h.W(ApicOffsets.Svr, SvrEnabled);
        h.PutInService(0x61, TriggerMode.Level);
        h.Eoi();
        Assert.Equal([(byte)0x61], h.Fx.EoiBroadcasts);
    }

    [Fact]
    public void WriteMsr_X2ApicEoiZero_EndsTheInterrupt()
    {
        using var h = ApicHarness.X2Apic();
        h.PutInService(0x61, TriggerMode.Level);

        h.WrmsrOk(ApicMsrs.X2ApicEoi, 0);

        Assert.True(h.Apic.Isr.IsEmpty);
        Assert.Equal([(byte)0x61], h.Fx.EoiBroadcasts);
    }

    [Theory]
    [InlineData(1ul)]
    [InlineData(0x40ul)]
    [InlineData(1ul << 32)]
    [InlineData(ulong.MaxValue)]
    public void WriteMsr_X2ApicEoiNonZero_FaultsAndLeavesIsr(ulong value)
    {
        using var h = ApicHarness.X2Apic();
        h.PutInService(0x40);

        Assert.Equal(AccessResult.Fault, h.Wrmsr(ApicMsrs.X2ApicEoi, value));
        Assert.Equal(VectorSet.Of(0x40), h.Apic.Isr);
    }

    [Fact]
    public void ReadMsr_X2ApicEoi_Faults()
    {
        using var h = ApicHarness.X2Apic();

        Assert.Equal(AccessResult.Fault, h.Rdmsr(ApicMsrs.X2ApicEoi));
    }

    [Fact]
    public void Eoi_InX2ApicMode_UsesTheMsrPath()
    {
        using var h = ApicHarness.X2Apic();
        h.PutInService(0x40);
        h.PutInService(0x50);

        h.Eoi();

        Assert.Equal(VectorSet.Of(0x40), h.Apic.Isr);
    }

    [Fact]
    public void Eoi_WithRelocatedPage_UsesTheCurrentBase()
    {
        using var h = ApicHarness.XApic();
        h.WrmsrOk(ApicMsrs.ApicBase, AlternateBase | ApicBaseEnable | ApicBaseBsp);
        h.PutInService(0x40);

        h.Eoi();

        Assert.True(h.Apic.Isr.IsEmpty);
    }
}
