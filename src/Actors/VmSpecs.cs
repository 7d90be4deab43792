using VApicActors.Registers;

namespace VApicActors.Actors;

/// <summary>Checks a <see cref="VmSpec"/> and derives each vCPU's <see cref="ApicConfig"/> from it.</summary>
internal static class VmSpecs
{
    /// <summary>The largest VM a spec may describe.</summary>
    public const int MaxVcpus = 1 << 16;

    /// <summary>Throws <see cref="ArgumentException"/> for a spec no VM can have.</summary>
    public static void Validate(VmSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrEmpty(spec.Name, nameof(spec.Name));
        if (spec.VcpuCount < 1 || spec.VcpuCount > MaxVcpus)
        {
            throw new ArgumentOutOfRangeException(nameof(spec.VcpuCount), spec.VcpuCount, "must be 1 to " + MaxVcpus);
        }
        if (spec.ApicIds is { } ids)
        {
            if (ids.Count != spec.VcpuCount)
            {
                throw new ArgumentException("ApicIds has " + ids.Count + " entries for " + spec.VcpuCount + " vCPUs", nameof(spec.ApicIds));
            }
            var seen = new HashSet<uint>();
            foreach (var id in ids)
            {
                if (!seen.Add(id))
                {
                    throw new ArgumentException("APIC ID 0x" + id.ToString("X") + " appears twice", nameof(spec.ApicIds));
                }
            }
        }
        for (var index = 0; index < spec.VcpuCount; index++)
        {
            ApicConfigOf(spec, index).Validate();
        }
    }

    /// <summary>vCPU <paramref name="index"/>'s APIC: its ID, BSP for vCPU 0, mode and whether it runs at start.</summary>
    public static ApicConfig ApicConfigOf(VmSpec spec, int index) => new(
        index,
        spec.InitialApicId(index),
        IsBsp: index == 0,
        StartInX2Apic: spec.X2Apic,
        StartRunning: spec.BootAll || index == 0,
        TimerHz: spec.TimerHz,
        TscHz: spec.TscHz);
}
