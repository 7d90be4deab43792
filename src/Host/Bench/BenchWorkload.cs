using VApicActors.Registers;

namespace VApicActors.Host.Bench;

/// <summary>
/// The workload every design runs: x2APIC vCPUs in a ring. Once the IPI it sent before has been EOI'd by its target,
/// a vCPU reads TPR, writes it back and sends the next IPI (fixed, physical, to the next vCPU); it takes every
/// interrupt deliverable to it (acknowledge, EOI). Because a vCPU has at most one IPI in flight and only its ring
/// neighbour sends to it, no IPI coalesces, and a vCPU that waits makes no exits: every design does exactly five
/// exits per IPI (TPR read, TPR write, ICR write, acknowledge, EOI). An exit is a register access, an acknowledge
/// that took a vector, or an EOI; an IPI counts once its target has EOI'd it.
/// </summary>
public static class BenchWorkload
{
    public const byte IpiVector = 0xFD;
    public const uint TprMsr = 0x808;
    public const uint SvrMsr = 0x80F;
    public const ulong SvrEnabled = 0x1FF;

    /// <summary>The ICR value vCPU <paramref name="source"/> writes: fixed, physical, to the next vCPU.</summary>
    public static ulong IcrFor(int source, int vcpus) => ((ulong)(uint)((source + 1) % vcpus) << 32) | IpiVector;

    public static LocalApic CreateApic(int index)
    {
        var apic = new LocalApic(new ApicConfig(index, (uint)index, index == 0, StartInX2Apic: true));
        apic.WriteMsr(SvrMsr, SvrEnabled, 0, NullApicEffects.Instance);
        return apic;
    }
}

/// <summary>
/// What one design did in its measured time; <paramref name="CpuTime"/> is the process's CPU time in it,
/// <paramref name="Threads"/> the lock design's threads (0 for the others).
/// </summary>
public sealed record BenchResult(string Design, int Vcpus, long Exits, long Ipis, TimeSpan Elapsed, TimeSpan CpuTime = default, int Threads = 0)
{
    /// <summary>The process's CPU time so far (every thread), to measure a design's cost apart from the machine's load.</summary>
    public static TimeSpan ProcessCpuTime()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    /// <summary>CPU nanoseconds per exit.</summary>
    public double CpuNsPerExit => Exits == 0 ? 0 : CpuTime.TotalMilliseconds * 1e6 / Exits;

    public double ExitsPerSecond => Exits / Elapsed.TotalSeconds;

    public double IpisPerSecond => Ipis / Elapsed.TotalSeconds;
}
