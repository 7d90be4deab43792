namespace VApicActors.Actors.Tests;

/// <summary>ICR command words and register values the tests write (Intel SDM Vol. 3A 10.6.1, 10.5.1).</summary>
internal static class Icr
{
    public const uint Fixed = 0b000 << 8;
    public const uint LowestPriority = 0b001 << 8;
    public const uint Smi = 0b010 << 8;
    public const uint Nmi = 0b100 << 8;
    public const uint Init = 0b101 << 8;
    public const uint StartUp = 0b110 << 8;
    public const uint Logical = 1u << 11;
    public const uint Assert = 1u << 14;
    public const uint LevelTrigger = 1u << 15;
    public const uint Self = 0b01 << 18;
    public const uint AllIncludingSelf = 0b10 << 18;
    public const uint AllExcludingSelf = 0b11 << 18;

    /// <summary>ICR high: an xAPIC destination in bits 31:24.</summary>
    public static uint Destination(uint apicId) => apicId << 24;

    /// <summary>The 64-bit x2APIC ICR: destination in bits 63:32.</summary>
    public static ulong X2(uint destination, uint low) => ((ulong)destination << 32) | low;
}

/// <summary>Other register values.</summary>
internal static class Values
{
    public const uint SvrEnabled = 0x1FF;
    public const uint SvrEnabledSuppressEoi = 0x11FF;
    public const uint SvrEnabledFocusOff = 0x3FF;
    public const uint SvrReset = 0xFF;
    public const uint DfrFlat = 0xFFFF_FFFF;
    public const uint DfrCluster = 0x0FFF_FFFF;
    public const uint LvtReset = 0x0001_0000;
    public const uint LvtMasked = 1u << 16;
    public const uint LvtNmi = 0b100 << 8;
    public const uint LvtLevel = 1u << 15;
    public const uint LvtRemoteIrr = 1u << 14;
    public const uint TimerPeriodic = 0b01 << 17;
    public const uint TimerTscDeadline = 0b10 << 17;
    public const uint DivideBy1 = 0xB;
    public const ulong DefaultBase = 0xFEE0_0000;
    public const ulong MsiBase = 0xFEE0_0000;
    public const ulong MsiLogical = 1 << 2;
    public const uint MsiLevelAssert = 1u << 14;
    public const uint MsiLevelTrigger = 1u << 15;
    public const uint EsrSendIllegal = 0x20;
    public const uint EsrReceiveIllegal = 0x40;

    /// <summary>The MSI address of a destination ID.</summary>
    public static ulong MsiAddress(uint destination, bool logical = false) => MsiBase | ((ulong)destination << 12) | (logical ? MsiLogical : 0);
}
