using System.Collections.Concurrent;

namespace VApicActors.Host.Stress;

/// <summary>
/// What the guests of one VM sent, as they know it: fixed interrupts and NMIs expected at each vCPU, lowest-priority
/// IPIs sent, and the call-function queues. The queues stand for guest memory, which every vCPU shares: a sender
/// queues an item before it writes the ICR, and the target's handler runs everything queued, as Linux does.
/// </summary>
internal sealed class StressLedger
{
    public StressLedger(int vcpus)
    {
        ExpectedFixed = new long[vcpus];
        ExpectedNmi = new long[vcpus];
        Queued = new long[vcpus];
        Ran = new long[vcpus];
        Queues = new ConcurrentQueue<CallFunctionItem>[vcpus];
        for (var i = 0; i < vcpus; i++)
        {
            Queues[i] = new ConcurrentQueue<CallFunctionItem>();
        }
    }

    /// <summary>Fixed messages (IPIs and MSIs) sent to each vCPU, one per destination.</summary>
    public long[] ExpectedFixed { get; }

    /// <summary>NMIs sent to each vCPU.</summary>
    public long[] ExpectedNmi { get; }

    /// <summary>Call-function items queued for each vCPU.</summary>
    public long[] Queued { get; }

    /// <summary>Call-function items each vCPU's handler ran (written by that vCPU only).</summary>
    public long[] Ran { get; }

    public ConcurrentQueue<CallFunctionItem>[] Queues { get; }

    /// <summary>The fixed IPI fault injection had the APIC lose (written once, by the fault vCPU), or null.</summary>
    public LostIpi? Lost { get; private set; }

    private long _lowestPrioritySent;
    private long _msisSent;

    /// <summary>Lowest-priority IPIs sent to a non-empty set of candidates: each must reach exactly one.</summary>
    public long LowestPrioritySent => Interlocked.Read(ref _lowestPrioritySent);

    /// <summary>Fixed MSI messages sent (one per destination), part of <see cref="ExpectedFixed"/>.</summary>
    public long MsisSent => Interlocked.Read(ref _msisSent);

    public void ExpectFixed(List<int> targets, bool msi)
    {
        foreach (var t in targets)
        {
            Interlocked.Increment(ref ExpectedFixed[t]);
        }
        if (msi)
        {
            Interlocked.Add(ref _msisSent, targets.Count);
        }
    }

    public void ExpectNmi(List<int> targets)
    {
        foreach (var t in targets)
        {
            Interlocked.Increment(ref ExpectedNmi[t]);
        }
    }

    public void LowestPriority() => Interlocked.Increment(ref _lowestPrioritySent);

    public void Lose(LostIpi ipi) => Lost = ipi;

    public void Queue(int target, CallFunctionItem item)
    {
        Interlocked.Increment(ref Queued[target]);
        Queues[target].Enqueue(item);
    }
}

/// <summary>
/// The fixed IPI that fault injection lost: its sender, the sender's operation that sent it (counted from 1), its
/// vector, its destination as the trace writes it, and the vCPUs it was meant for.
/// </summary>
internal sealed record LostIpi(int Sender, long Operation, byte Vector, string Destination, int[] Targets);
