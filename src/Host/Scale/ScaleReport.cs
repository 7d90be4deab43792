namespace VApicActors.Host.Scale;

/// <summary>The creation of one VM: its vCPUs and the wall time from the request to every APIC routable.</summary>
public sealed record VmCreation(int Number, int Vcpus, double Seconds)
{
    /// <summary>The time scaled to 4096 vCPUs, to compare VMs of other sizes with the target.</summary>
    public double SecondsPer4096 => Seconds * 4096 / Vcpus;
}

/// <summary>
/// The broadcast IPI to every vCPU of the first VM: how many vCPUs then presented its vector to their core, the
/// time until the ICR write was answered (every delivery handed to its target), and the time until every vCPU was
/// seen with the vector pending (that includes one query round trip per vCPU).
/// </summary>
public sealed record BroadcastResult(int Vcpus, int Received, double IcrWriteSeconds, double AllPendingSeconds, IReadOnlyList<int> Missing)
{
    public bool EveryVcpuReceived => Received == Vcpus;
}

/// <summary>
/// Memory of the process before the first VM and after the last, each read after a full blocking collection
/// (<c>GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect(); GC.GetTotalMemory(true)</c>).
/// </summary>
/// <param name="ManagedBefore">Managed heap bytes in use before (<c>GC.GetTotalMemory(true)</c>).</param>
/// <param name="ManagedAfter">Managed heap bytes in use after.</param>
/// <param name="HeapSizeAfter">The GC's heap size after the last collection (<c>GC.GetGCMemoryInfo().HeapSizeBytes</c>), fragmentation included.</param>
/// <param name="NativePageBytes">Bytes of the APIC pages (one 4096-byte aligned native allocation per vCPU), counted, not measured.</param>
/// <param name="ProcessBefore">The process's private resident memory before (<see cref="ProcessSource"/>).</param>
/// <param name="ProcessAfter">The same after.</param>
/// <param name="ProcessSource">What <see cref="ProcessBefore"/> and <see cref="ProcessAfter"/> are: RssAnon from /proc/self/status, or the working set.</param>
public sealed record MemoryResult(
    long ManagedBefore,
    long ManagedAfter,
    long HeapSizeAfter,
    long NativePageBytes,
    long ProcessBefore,
    long ProcessAfter,
    string ProcessSource)
{
    public long ManagedDelta => ManagedAfter - ManagedBefore;

    public long ProcessDelta => ProcessAfter - ProcessBefore;
}

/// <summary>What <c>vapic scale</c> measured.</summary>
public sealed record ScaleReport(
    ScaleSettings Settings,
    IReadOnlyList<VmCreation> Vms,
    BroadcastResult Broadcast,
    MemoryResult Memory,
    double DisposeSeconds)
{
    public const double CreationTargetSecondsPer4096 = 1.0;
    public const double MemoryTargetBytesPerVcpu = 8192;

    public int TotalVcpus => Vms.Sum(v => v.Vcpus);

    public double ManagedBytesPerVcpu => (double)Memory.ManagedDelta / TotalVcpus;

    /// <summary>Managed bytes per vCPU plus its 4 KiB page: the figure held against the ≤ 8 KiB target.</summary>
    public double BytesPerVcpu => (double)(Memory.ManagedDelta + Memory.NativePageBytes) / TotalVcpus;

    /// <summary>The growth of the process's private resident memory per vCPU, garbage the GC has not returned included.</summary>
    public double ProcessBytesPerVcpu => (double)Memory.ProcessDelta / TotalVcpus;

    public double MedianCreationSecondsPer4096 => Median(Vms.Select(v => v.SecondsPer4096));

    public double MaxCreationSecondsPer4096 => Vms.Max(v => v.SecondsPer4096);

    public bool CreationTargetMet => MaxCreationSecondsPer4096 < CreationTargetSecondsPer4096;

    public bool MemoryTargetMet => BytesPerVcpu <= MemoryTargetBytesPerVcpu;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
