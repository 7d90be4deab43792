using VApicActors.Registers;

namespace VApicActors.Host.Stress;

/// <summary>
/// What every guest CPU of one VM knows once the VM is set up: the APIC IDs and logical destinations (as a route
/// table, the same one the VM routes with), which vCPUs a device MSI can address, and the shared ledger.
/// </summary>
internal sealed class StressWorld
{
    public const ulong ApicPage = 0xFEE0_0000;
    public const byte RescheduleVector = 0xFD;
    public const byte CallFunctionVector = 0xFC;
    public const byte CallFunctionSingleVector = 0xFB;
    public const byte IrqWorkVector = 0xF6;
    public const byte BroadcastVector = 0xF5;
    public const byte SelfVector = 0xF4;
    public const byte MsiVector = 0xF2;
    public const byte LowestPriorityVector = 0xE0;
    public const byte TimerVector = 0xEC;

    /// <summary>The vectors fixed IPIs and MSIs carry (lowest priority and the timer use others).</summary>
    public static readonly byte[] FixedVectors =
        [RescheduleVector, CallFunctionVector, CallFunctionSingleVector, IrqWorkVector, BroadcastVector, SelfVector, MsiVector];

    public StressWorld(int vm, StressSettings settings, ApicRouteTable table)
    {
        Vm = vm;
        Settings = settings;
        Table = table;
        Vcpus = table.Count;
        Ledger = new StressLedger(Vcpus);
        MsiTargets = Enumerable.Range(0, Vcpus).Where(i => table[i].ApicId <= 0xFE).ToArray();
        XApicLogicalMask = 0;
        for (var i = 0; i < Vcpus; i++)
        {
            XApicLogicalMask |= (byte)(table[i].Ldr >> 24);
        }
    }

    public int Vm { get; }

    public StressSettings Settings { get; }

    public ApicRouteTable Table { get; }

    public int Vcpus { get; }

    public bool X2Apic => Settings.X2Apic;

    public StressLedger Ledger { get; }

    /// <summary>vCPUs whose APIC ID fits an MSI's 8-bit destination.</summary>
    public int[] MsiTargets { get; }

    /// <summary>The flat logical IDs in use (xAPIC): one bit per vCPU among the first eight.</summary>
    public byte XApicLogicalMask { get; }

    /// <summary>The xAPIC logical ID (flat model) the setup gives vCPU <paramref name="index"/>: one bit for the first eight, else none.</summary>
    public static uint XApicLdrOf(int index) => index < 8 ? (1u << index) << 24 : 0;
}
