using VApicActors.Registers;
using Xunit;

namespace VApicActors.Registers.Tests;

/// <summary>MSI decoding (SDM 10.11; profile "MSIs").</summary>
public sealed class MsiTests
{
    private const ulong AddressLogical = 1 << 2;
    private const ulong AddressRedirectionHint = 1 << 3;
    private const int AddressDestinationShift = 12;
    private const uint DataAssert = 1 << 14;
    private const uint DataLevel = 1 << 15;

    private static uint Data(DeliveryMode mode, byte vector, uint flags = 0) => flags | ((uint)mode << 8) | vector;

    [Fact]
    public void TryDecode_PhysicalFixedEdge_DecodesEveryField()
    {
        Assert.True(Msi.TryDecode(Msi.AddressBase | (1UL << AddressDestinationShift), Data(DeliveryMode.Fixed, 0x41), out var request));

        Assert.Equal(new InterruptRequest(DeliveryMode.Fixed, 0x41, TriggerMode.Edge, true, false, DestinationShorthand.None, 1, false), request);
    }

    [Fact]
    public void TryDecode_LogicalWithRedirectionHint_HintIsIgnored()
    {
        Assert.True(Msi.TryDecode(Msi.AddressBase | AddressLogical | AddressRedirectionHint | (0x0DUL << AddressDestinationShift), Data(DeliveryMode.LowestPriority, 0x86), out var request));

        Assert.True(request.Logical);
        Assert.Equal(0x0Du, request.Destination);
        Assert.Equal(DeliveryMode.LowestPriority, request.Mode);
    }

    [Fact]
    public void TryDecode_DestinationFF_IsBroadcast()
    {
        Assert.True(Msi.TryDecode(Msi.AddressBase | (0xFFUL << AddressDestinationShift), Data(DeliveryMode.Fixed, 0x41), out var request));

        Assert.True(request.IsBroadcast);
        Assert.False(request.X2ApicFormat);
    }

    [Fact]
    public void TryDecode_LevelAssert_KeepsLevelTrigger()
    {
        Assert.True(Msi.TryDecode(Msi.AddressBase, Data(DeliveryMode.Fixed, 0x77, DataLevel | DataAssert), out var request));

        Assert.Equal(TriggerMode.Level, request.Trigger);
        Assert.Equal(TriggerMode.Level, request.Message.Trigger);
    }

    [Fact]
    public void TryDecode_LevelDeassert_IsDropped()
    {
        Assert.False(Msi.TryDecode(Msi.AddressBase, Data(DeliveryMode.Fixed, 0x77, DataLevel), out _));
    }

    [Fact]
    public void TryDecode_EdgeWithoutAssertBit_IsAnInterrupt()
    {
        Assert.True(Msi.TryDecode(Msi.AddressBase, Data(DeliveryMode.Fixed, 0x76), out var request));

        Assert.Equal(TriggerMode.Edge, request.Trigger);
    }

    [Theory]
    [InlineData(DeliveryMode.Fixed, true)]
    [InlineData(DeliveryMode.LowestPriority, true)]
    [InlineData(DeliveryMode.Smi, true)]
    [InlineData(DeliveryMode.Reserved3, false)]
    [InlineData(DeliveryMode.Nmi, true)]
    [InlineData(DeliveryMode.Init, true)]
    [InlineData(DeliveryMode.StartUp, false)]
    [InlineData(DeliveryMode.ExtInt, false)]
    public void TryDecode_DeliveryMode_DropsThoseAnMsiCannotCarry(DeliveryMode mode, bool decoded)
    {
        Assert.Equal(decoded, Msi.TryDecode(Msi.AddressBase, Data(mode, 0x41), out var request));
        if (decoded) Assert.Equal(mode, request.Mode);
    }

    [Theory]
    [InlineData(0xFED0_0000ul)]
    [InlineData(0xFEF0_0000ul)]
    [InlineData(0x1_FEE0_0000ul)]
    [InlineData(0ul)]
    public void TryDecode_AddressOutsideWindow_IsNoInterrupt(ulong address)
    {
        Assert.False(Msi.TryDecode(address, Data(DeliveryMode.Fixed, 0x41), out _));
    }

    [Fact]
    public void TryDecode_EveryVectorAndDestination_RoundTrips()
    {
        for (uint destination = 0; destination <= 0xFF; destination += 0x11)
        {
            for (var vector = 0; vector < 256; vector++)
            {
                Assert.True(Msi.TryDecode(Msi.AddressBase | ((ulong)destination << AddressDestinationShift), Data(DeliveryMode.Fixed, (byte)vector), out var request));
                Assert.Equal(vector, request.Vector);
                Assert.Equal(destination, request.Destination);
            }
        }
    }
}
