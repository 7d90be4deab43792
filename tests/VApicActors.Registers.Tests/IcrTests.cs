using VApicActors.Registers;
using Xunit;
using static VApicActors.Registers.Tests.Consts;

namespace VApicActors.Registers.Tests;

/// <summary>Behaviour family H at the sender: ICR decode into an IPI effect, invalid combinations (SDM 10.6.1, profile decisions 7–10).</summary>
public sealed class IcrTests
{
    [Fact]
    public void WriteIcrHigh_Alone_SendsNothing()
    {
        using var h = ApicHarness.XApic();

        h.W(ApicOffsets.IcrHigh, 0x0100_0000);

        Assert.Empty(h.Fx.Sent);
    }

    [Fact]
    public void WriteIcrLow_FixedPhysical_SendsDecodedIpiAndReadsIdle()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);

        h.W(ApicOffsets.IcrLow, IcrAssert | IcrFixed | 0x31);

        var request = Assert.Single(h.Fx.Sent);
        Assert.Equal(new InterruptRequest(DeliveryMode.Fixed, 0x31, TriggerMode.Edge, true, false, DestinationShorthand.None, 1, false), request);
        Assert.Equal(0x0000_4031u, h.R(ApicOffsets.IcrLow));
        Assert.Equal(0u, h.LatchEsr());
    }

    [Fact]
    public void WriteIcrLow_DeliveryStatusBitSet_BehavesTheSameAndReadsIdle()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);

        h.W(ApicOffsets.IcrLow, IcrDeliveryStatus | IcrAssert | 0x31);

        Assert.Equal((byte)0x31, Assert.Single(h.Fx.Sent).Vector);
        Assert.Equal(0x0000_4031u, h.R(ApicOffsets.IcrLow));
    }

    public static TheoryData<uint, uint, DeliveryMode, byte, bool, DestinationShorthand> CommandWords() => new()
    {
        { IcrSelf | IcrAssert | 0x41, 0x0500_0000, DeliveryMode.Fixed, 0x41, false, DestinationShorthand.Self },
        { IcrAllIncludingSelf | IcrAssert | 0x42, 0x0500_0000, DeliveryMode.Fixed, 0x42, false, DestinationShorthand.AllIncludingSelf },
        { IcrAllExcludingSelf | IcrAssert | 0x43, 0x0500_0000, DeliveryMode.Fixed, 0x43, false, DestinationShorthand.AllExcludingSelf },
        { IcrLogical | IcrAssert | 0x50, 0x0300_0000, DeliveryMode.Fixed, 0x50, true, DestinationShorthand.None },
        { IcrLogical | IcrAssert | IcrLowest | 0x41, 0x0300_0000, DeliveryMode.LowestPriority, 0x41, true, DestinationShorthand.None },
        { IcrAssert | IcrNmi, 0x0100_0000, DeliveryMode.Nmi, 0x00, false, DestinationShorthand.None },
        { IcrAssert | IcrSmi, 0x0100_0000, DeliveryMode.Smi, 0x00, false, DestinationShorthand.None },
        { IcrAssert | IcrInit, 0x0100_0000, DeliveryMode.Init, 0x00, false, DestinationShorthand.None },
        { IcrAssert | IcrStartUp | 0x9A, 0x0100_0000, DeliveryMode.StartUp, 0x9A, false, DestinationShorthand.None },
        { IcrAllExcludingSelf | IcrAssert | IcrInit, 0, DeliveryMode.Init, 0x00, false, DestinationShorthand.AllExcludingSelf },
        { IcrAllExcludingSelf | IcrStartUp, 0, DeliveryMode.StartUp, 0x00, false, DestinationShorthand.AllExcludingSelf },
        { IcrAllExcludingSelf | IcrAssert | IcrNmi, 0, DeliveryMode.Nmi, 0x00, false, DestinationShorthand.AllExcludingSelf },
        { IcrAssert | 0xCF, 0xFF00_0000, DeliveryMode.Fixed, 0xCF, false, DestinationShorthand.None },
    };

    [Theory]
    [MemberData(nameof(CommandWords))]
    public void WriteIcrLow_ValidCommandWord_DecodesEveryField(uint low, uint high, DeliveryMode mode, byte vector, bool logical, DestinationShorthand shorthand)
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, high);

        h.W(ApicOffsets.IcrLow, low);

        var request = Assert.Single(h.Fx.Sent);
        Assert.Equal(mode, request.Mode);
        Assert.Equal(vector, request.Vector);
        Assert.Equal(logical, request.Logical);
        Assert.Equal(shorthand, request.Shorthand);
        Assert.False(request.X2ApicFormat);
        Assert.Equal(TriggerMode.Edge, request.Message.Trigger);
        if (shorthand == DestinationShorthand.None) Assert.Equal(high >> (int)IcrHighDestinationShift, request.Destination);
    }

    [Fact]
    public void WriteIcrLow_PhysicalBroadcast_IsBroadcastInXApicFormat()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, 0xFF00_0000);

        h.W(ApicOffsets.IcrLow, IcrAssert | 0xCF);

        Assert.True(Assert.Single(h.Fx.Sent).IsBroadcast);
    }

    [Theory]
    [InlineData(IcrFixed)]
    [InlineData(IcrLowest)]
    public void WriteIcrLow_EveryVectorFixedOrLowest_SendsLegalOnesAndRecordsIllegalOnes(uint mode)
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);
        for (uint vector = 0; vector < VectorCount; vector++)
        {
            h.W(ApicOffsets.IcrLow, IcrAssert | mode | vector);

            if (vector < FirstLegalVector)
            {
                Assert.Empty(h.Fx.Sent);
                Assert.Equal(EsrSendIllegalVector, h.LatchEsr());
            }
            else
            {
                Assert.Equal((byte)vector, Assert.Single(h.Fx.Sent).Vector);
                Assert.Equal(0u, h.LatchEsr());
            }
            h.Fx.Clear();
        }
    }

    [Theory]
    [InlineData(IcrNmi)]
    [InlineData(IcrSmi)]
    [InlineData(IcrInit)]
    [InlineData(IcrStartUp)]
    public void WriteIcrLow_NonFixedWithLowVector_SendsWithoutError(uint mode)
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);

        h.W(ApicOffsets.IcrLow, IcrAssert | mode | 0x05);

        Assert.Single(h.Fx.Sent);
        Assert.Equal(0u, h.LatchEsr());
    }

    [Theory]
    [InlineData(IcrSelf | IcrAssert | IcrNmi)]
    [InlineData(IcrAllIncludingSelf | IcrAssert | IcrNmi)]
    [InlineData(IcrSelf | IcrAssert | IcrSmi)]
    [InlineData(IcrAllIncludingSelf | IcrAssert | IcrSmi)]
    [InlineData(IcrSelf | IcrAssert | IcrInit)]
    [InlineData(IcrAllIncludingSelf | IcrAssert | IcrInit)]
    [InlineData(IcrSelf | IcrAssert | IcrStartUp | 0x10)]
    [InlineData(IcrAllIncludingSelf | IcrAssert | IcrStartUp | 0x10)]
    [InlineData(IcrAssert | IcrReserved3 | 0x40)]
    [InlineData(IcrAssert | IcrExtInt | 0x40)]
    [InlineData(IcrAllExcludingSelf | IcrExtInt | 0x40)]
    public void WriteIcrLow_InvalidCombination_SendsNothing(uint low)
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);

        h.W(ApicOffsets.IcrLow, low);

        Assert.Empty(h.Fx.Sent);
        Assert.Equal(0, h.Apic.NmiCount);
        Assert.Equal(VcpuRunState.Running, h.Apic.RunState);
    }

    [Fact]
    public void WriteIcrLow_InitLevelDeassert_SendsNoInit()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);

        h.W(ApicOffsets.IcrLow, IcrLevel | IcrInit);
        h.W(ApicOffsets.IcrLow, IcrAllExcludingSelf | IcrLevel | IcrInit);

        Assert.Empty(h.Fx.Sent);
    }

    [Theory]
    [InlineData(IcrInit)]
    [InlineData(IcrAssert | IcrInit)]
    [InlineData(IcrLevel | IcrAssert | IcrInit)]
    public void WriteIcrLow_InitEdgeOrLevelAssert_SendsInitThatResetsTheTarget(uint low)
    {
        using var sender = ApicHarness.XApic();
        using var target = ApicHarness.XApic(1, bsp: false);
        sender.W(ApicOffsets.IcrHigh, 0x0100_0000);

        sender.W(ApicOffsets.IcrLow, low);

        var request = Assert.Single(sender.Fx.Sent);
        Assert.Equal(DeliveryMode.Init, request.Mode);
        Assert.Equal(AcceptOutcome.InitReset, target.Accept(request.Message));
        Assert.Equal(VcpuRunState.WaitForSipi, target.Apic.RunState);
    }

    [Theory]
    [InlineData(IcrLevel | 0x40)]
    [InlineData(IcrLevel | IcrAssert | 0x40)]
    [InlineData(IcrLevel | IcrLowest | 0x40)]
    [InlineData(0x40u)]
    public void WriteIcrLow_FixedOrLowestWithLevelBits_IsDeliveredAsEdge(uint low)
    {
        using var sender = ApicHarness.XApic();
        using var target = ApicHarness.XApic(1, bsp: false);
        sender.W(ApicOffsets.IcrHigh, 0x0100_0000);

        sender.W(ApicOffsets.IcrLow, low);

        var request = Assert.Single(sender.Fx.Sent);
        Assert.Equal(TriggerMode.Edge, request.Trigger);
        Assert.Equal(AcceptOutcome.Accepted, target.Accept(request.Message));
        Assert.True(target.Apic.Irr.Contains(0x40));
        Assert.False(target.Apic.Tmr.Contains(0x40));
    }

    [Theory]
    [InlineData(IcrNmi)]
    [InlineData(IcrLevel | IcrNmi)]
    [InlineData(IcrLevel | IcrAssert | IcrNmi)]
    public void WriteIcrLow_NmiWithAnyTriggerAndLevel_DeliversOneNmi(uint low)
    {
        using var sender = ApicHarness.XApic();
        using var target = ApicHarness.XApic(1, bsp: false);
        sender.W(ApicOffsets.IcrHigh, 0x0100_0000);

        sender.W(ApicOffsets.IcrLow, low);

        Assert.Equal(AcceptOutcome.NmiDelivered, target.Accept(Assert.Single(sender.Fx.Sent).Message));
        Assert.Equal(1, target.Apic.NmiCount);
        Assert.True(target.Apic.Irr.IsEmpty);
        Assert.True(target.Apic.Isr.IsEmpty);
    }

    // Profile, "IPIs": NMI, SMI and SIPI ignore trigger and level (unlike INIT, whose level de-assert is dropped).
    [Theory]
    [InlineData(IcrSmi)]
    [InlineData(IcrLevel | IcrSmi)]
    [InlineData(IcrLevel | IcrAssert | IcrSmi)]
    public void WriteIcrLow_SmiWithAnyTriggerAndLevel_DeliversOneSmi(uint low)
    {
        using var sender = ApicHarness.XApic();
        using var target = ApicHarness.XApic(1, bsp: false);
        sender.W(ApicOffsets.IcrHigh, 0x0100_0000);

        sender.W(ApicOffsets.IcrLow, low);

        var request = Assert.Single(sender.Fx.Sent);
        Assert.Equal(DeliveryMode.Smi, request.Mode);
        Assert.Equal(AcceptOutcome.SmiDelivered, target.Accept(request.Message));
        Assert.Equal(1, target.Apic.SmiCount);
        Assert.True(target.Apic.Irr.IsEmpty);
        Assert.True(target.Apic.Isr.IsEmpty);
        Assert.Equal(0u, sender.LatchEsr());
    }

    [Theory]
    [InlineData(IcrStartUp | 0x9A)]
    [InlineData(IcrLevel | IcrStartUp | 0x9A)]
    [InlineData(IcrLevel | IcrAssert | IcrStartUp | 0x9A)]
    public void WriteIcrLow_StartUpWithAnyTriggerAndLevel_StartsAVcpuWaitingForSipi(uint low)
    {
        using var sender = ApicHarness.XApic();
        using var target = ApicHarness.PowerOn(1, bsp: false, running: false);
        sender.W(ApicOffsets.IcrHigh, 0x0100_0000);

        sender.W(ApicOffsets.IcrLow, low);

        var request = Assert.Single(sender.Fx.Sent);
        Assert.Equal(DeliveryMode.StartUp, request.Mode);
        Assert.Equal(AcceptOutcome.Started, target.Accept(request.Message));
        Assert.Equal(VcpuRunState.Running, target.Apic.RunState);
        Assert.Equal(0x9A, target.Apic.SipiVector);
        Assert.True(target.Apic.Irr.IsEmpty);
        Assert.Equal(0u, sender.LatchEsr());
    }

    [Fact]
    public void WriteIcrLow_SelfFixed_LandsInOwnIrrAfterRouting()
    {
        using var h = ApicHarness.XApic();
        h.W(ApicOffsets.IcrHigh, 0x0500_0000);

        h.W(ApicOffsets.IcrLow, IcrSelf | IcrAssert | 0xF1);

        Assert.Equal([AcceptOutcome.Accepted], h.Loopback());
        Assert.Equal(0xF1, h.Apic.PendingVector);
    }

    [Fact]
    public void WriteIcrLow_WhileSoftwareDisabled_StillSends()
    {
        using var h = ApicHarness.PowerOn();
        h.W(ApicOffsets.IcrHigh, 0x0100_0000);

        h.W(ApicOffsets.IcrLow, IcrAssert | 0x70);

        Assert.Single(h.Fx.Sent);
    }

    [Fact]
    public void Accept_SmiAndNmi_BypassIrrAndIsr()
    {
        using var h = ApicHarness.XApic();
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(AcceptOutcome.NmiDelivered, h.Accept(InterruptMessage.Nmi));
        }
        Assert.Equal(AcceptOutcome.SmiDelivered, h.Accept(InterruptMessage.Smi));

        Assert.Equal(10, h.Apic.NmiCount);
        Assert.Equal(1, h.Apic.SmiCount);
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.True(h.Apic.Isr.IsEmpty);
        Assert.True(h.Apic.Tmr.IsEmpty);
    }

    [Theory]
    [InlineData(DeliveryMode.ExtInt)]
    [InlineData(DeliveryMode.Reserved3)]
    public void Accept_ModeThatCarriesNothing_HasNoEffect(DeliveryMode mode)
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(AcceptOutcome.DroppedNoEffect, h.Accept(new InterruptMessage(mode, 0x40)));
        Assert.True(h.Apic.Irr.IsEmpty);
    }

    [Fact]
    public void Accept_LevelDeassert_IsDropped()
    {
        using var h = ApicHarness.XApic();

        Assert.Equal(AcceptOutcome.DroppedNoEffect, h.Accept(new InterruptMessage(DeliveryMode.Fixed, 0x40, TriggerMode.Level, false)));
        Assert.True(h.Apic.Irr.IsEmpty);
        Assert.True(h.Apic.Tmr.IsEmpty);
    }
}
