namespace VApicActors.Host.Scale;

/// <summary>What <c>vapic scale</c> creates: VMs of <see cref="VcpusPerVm"/> x2APIC vCPUs until <see cref="Total"/> exist.</summary>
/// <param name="Total">vCPUs to create in all (the last VM holds the remainder).</param>
/// <param name="VcpusPerVm">vCPUs per VM; the first VM also receives the broadcast IPI.</param>
/// <param name="SparseApicIds">x2APIC IDs 0x1000 + 37·i instead of 0..N-1.</param>
public sealed record ScaleSettings(int Total = ScaleSettings.DefaultTotal, int VcpusPerVm = ScaleSettings.DefaultVcpusPerVm, bool SparseApicIds = true)
{
    public const int DefaultTotal = 100_000;
    public const int DefaultVcpusPerVm = 4096;
    public const int MaxTotal = 1_000_000;
    public const int MaxVcpusPerVm = 1 << 16;

    /// <summary>The broadcast vector: fixed, edge, to destination 0xFFFFFFFF (every x2APIC, the sender included).</summary>
    public const byte BroadcastVector = 0xFD;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the option that is out of range.</summary>
    public void Validate()
    {
        if (Total is < 1 or > MaxTotal)
        {
            throw new ArgumentOutOfRangeException("--total", Total, "must be 1 to " + MaxTotal);
        }
        if (VcpusPerVm is < 1 or > MaxVcpusPerVm)
        {
            throw new ArgumentOutOfRangeException("--vcpus-per-vm", VcpusPerVm, "must be 1 to " + MaxVcpusPerVm);
        }
    }

    /// <summary>The initial APIC ID of vCPU <paramref name="index"/>.</summary>
    public uint ApicIdOf(int index) => SparseApicIds ? 0x1000u + 37u * (uint)index : (uint)index;

    /// <summary>The sizes of the VMs to create, in order.</summary>
    public IReadOnlyList<int> VmSizes()
    {
        var sizes = new List<int>();
        for (var left = Total; left > 0; left -= VcpusPerVm)
        {
            sizes.Add(Math.Min(left, VcpusPerVm));
        }
        return sizes;
    }
}
