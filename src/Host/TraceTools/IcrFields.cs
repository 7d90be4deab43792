using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// The ICR low bits that <c>kvm_apic_ipi</c> prints (Intel SDM Vol. 3A 10.6.1), and the names KVM gives the
/// delivery modes and shorthands in its trace output.
/// </summary>
internal static class IcrFields
{
    public const uint VectorMask = Icr.VectorMask;
    public const int DeliveryModeShift = Icr.DeliveryModeShift;
    public const uint DeliveryModeMask = Icr.DeliveryModeMask;
    public const uint DestinationLogical = Icr.DestinationLogical;
    public const uint DeliveryStatus = Icr.DeliveryStatus;
    public const uint LevelAssert = Icr.LevelAssert;
    public const uint TriggerLevel = Icr.TriggerLevel;
    public const int ShorthandShift = Icr.ShorthandShift;
    public const uint ShorthandMask = Icr.ShorthandMask;

    /// <summary>The ICR low bits the reference profile keeps (vector, mode, destination mode, level, trigger, shorthand).</summary>
    public const uint Kept = Icr.Writable;

    /// <summary>xAPIC ICR high: the destination sits in bits 31:24.</summary>
    public const int XApicDestinationShift = Icr.XApicDestinationShift;
    public const uint XApicDestinationMask = Icr.XApicDestinationMask;

    public const uint Fixed = 0;
    public const uint LowestPriority = 1;
    public const uint Smi = 2;
    public const uint Reserved3 = 3;
    public const uint Nmi = 4;
    public const uint Init = 5;
    public const uint StartUp = 6;
    public const uint ExtInt = 7;

    public const uint ShorthandNone = 0;
    public const uint ShorthandSelf = 1;
    public const uint ShorthandAll = 2;

    private static readonly string[] ModeNames = ["Fixed", "LowPrio", "SMI", "Res3", "NMI", "INIT", "SIPI", "ExtINT"];
    private static readonly string[] ShorthandNames = ["dst", "self", "all", "all-but-self"];

    public static string DeliveryModeName(uint mode) => ModeNames[mode & DeliveryModeMask];

    public static bool TryParseDeliveryMode(string name, out uint mode) => TryIndex(ModeNames, name, out mode);

    public static bool TryParseShorthand(string name, out uint shorthand) => TryIndex(ShorthandNames, name, out shorthand);

    private static bool TryIndex(string[] names, string name, out uint index)
    {
        for (var i = 0; i < names.Length; i++)
        {
            if (string.Equals(names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                index = (uint)i;
                return true;
            }
        }
        index = 0;
        return false;
    }
}
