using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Registers;

namespace VApicActors.Host.Scale;

/// <summary>
/// The scale measurement: creates VMs of x2APIC vCPUs until the total exists, timing each creation; sends one
/// broadcast IPI to every vCPU of the first VM and checks each vCPU then presents its vector; measures the memory
/// the vCPUs hold; stops every VM at the end.
/// </summary>
public sealed class ScaleRun
{
    /// <summary>Requests in flight at once when every vCPU of a VM is asked something.</summary>
    private const int RequestsInFlight = 512;

    private const uint SvrEnabled = 0x1FF;

    private readonly ActorSystem _system;
    private readonly ScaleSettings _settings;
    private readonly Action<string>? _progress;

    public ScaleRun(ActorSystem system, ScaleSettings settings, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _system = system;
        _settings = settings;
        _progress = progress;
    }

    /// <summary>The x2APIC ICR value of the broadcast: destination 0xFFFFFFFF, fixed, assert, <see cref="ScaleSettings.BroadcastVector"/>.</summary>
    public static ulong BroadcastIcr => 0xFFFF_FFFF_0000_4000UL | ScaleSettings.BroadcastVector;

    public async Task<ScaleReport> RunAsync(CancellationToken ct = default)
    {
        var (managedBefore, _) = CollectFully();
        var (processBefore, source) = ProcessPrivateBytes();
        var vms = new List<VmHandle>();
        var creations = new List<VmCreation>();
        BroadcastResult? broadcast = null;
        var disposeSeconds = 0.0;
        try
        {
            foreach (var size in _settings.VmSizes())
            {
                ct.ThrowIfCancellationRequested();
                var number = vms.Count;
                var spec = new VmSpec("scale-" + number, size, X2Apic: true,
                    ApicIds: Enumerable.Range(0, size).Select(_settings.ApicIdOf).ToArray());
                var watch = Stopwatch.StartNew();
                var vm = await VmHandle.CreateAsync(_system, spec).ConfigureAwait(false);
                watch.Stop();
                vms.Add(vm);
                creations.Add(new VmCreation(number, size, watch.Elapsed.TotalSeconds));
                Report(string.Format(CultureInfo.InvariantCulture, "VM {0}: {1} vCPUs created in {2:F3} s ({3} vCPUs in all)",
                    number, size, watch.Elapsed.TotalSeconds, creations.Sum(c => c.Vcpus)));
                if (broadcast is null)
                {
                    broadcast = await BroadcastAsync(vm, ct).ConfigureAwait(false);
                    Report(string.Format(CultureInfo.InvariantCulture, "broadcast: {0} of {1} vCPUs have vector 0x{2:X2} pending; ICR write answered in {3:F3} s, all seen pending in {4:F3} s",
                        broadcast.Received, broadcast.Vcpus, ScaleSettings.BroadcastVector, broadcast.IcrWriteSeconds, broadcast.AllPendingSeconds));
                }
            }

            var (managedAfter, heapSize) = CollectFully();
            var (processAfter, _) = ProcessPrivateBytes();
            var memory = new MemoryResult(managedBefore, managedAfter, heapSize,
                (long)creations.Sum(c => c.Vcpus) * ApicOffsets.PageSize, processBefore, processAfter, source);

            var disposeWatch = Stopwatch.StartNew();
            await DisposeAllAsync(vms).ConfigureAwait(false);
            disposeSeconds = disposeWatch.Elapsed.TotalSeconds;
            return new ScaleReport(_settings, creations, broadcast!, memory, disposeSeconds);
        }
        finally
        {
            await DisposeAllAsync(vms).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Software-enables every APIC of <paramref name="vm"/>, has vCPU 0 write the broadcast to its ICR, and asks every
    /// vCPU for the vector it presents. The reply to an ICR write leaves only after every delivery is handed to its
    /// target, so a query sent after it finds the delivery ahead of it in the target's mailbox.
    /// </summary>
    private static async Task<BroadcastResult> BroadcastAsync(VmHandle vm, CancellationToken ct)
    {
        var n = vm.VcpuCount;
        var svr = ApicOffsets.ToMsr(ApicOffsets.Svr);
        var enabled = await ForEachVcpuAsync(n, i => vm.WriteMsrAsync(i, svr, SvrEnabled), ct).ConfigureAwait(false);
        var notEnabled = Enumerable.Range(0, n).Where(i => !enabled[i].IsOk).ToList();
        if (notEnabled.Count > 0)
        {
            throw new InvalidOperationException("the SVR write failed at vCPU " + notEnabled[0] + ": " + enabled[notEnabled[0]]);
        }

        var watch = Stopwatch.StartNew();
        var written = await vm.WriteMsrAsync(0, ApicMsrs.X2ApicIcr, BroadcastIcr).ConfigureAwait(false);
        var icrSeconds = watch.Elapsed.TotalSeconds;
        if (!written.IsOk)
        {
            throw new InvalidOperationException("the broadcast ICR write failed: " + written);
        }
        var pending = await ForEachVcpuAsync(n, vm.PendingAsync, ct).ConfigureAwait(false);
        var allSeconds = watch.Elapsed.TotalSeconds;
        var missing = Enumerable.Range(0, n).Where(i => pending[i] != ScaleSettings.BroadcastVector).ToList();
        return new BroadcastResult(n, n - missing.Count, icrSeconds, allSeconds, missing);
    }

    /// <summary>Runs <paramref name="request"/> for every vCPU with at most <see cref="RequestsInFlight"/> in flight; results by index.</summary>
    private static async Task<T[]> ForEachVcpuAsync<T>(int n, Func<int, Task<T>> request, CancellationToken ct)
    {
        var results = new T[n];
        for (var start = 0; start < n; start += RequestsInFlight)
        {
            ct.ThrowIfCancellationRequested();
            var end = Math.Min(n, start + RequestsInFlight);
            var batch = new Task<T>[end - start];
            for (var i = start; i < end; i++)
            {
                batch[i - start] = request(i);
            }
            var done = await Task.WhenAll(batch).ConfigureAwait(false);
            done.CopyTo(results, start);
        }
        return results;
    }

    private static async Task DisposeAllAsync(List<VmHandle> vms)
    {
        await Task.WhenAll(vms.Select(v => v.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private void Report(string line) => _progress?.Invoke(line);

    /// <summary>A full blocking collection; returns the managed bytes in use and the GC's heap size after it.</summary>
    private static (long Managed, long HeapSize) CollectFully()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var managed = GC.GetTotalMemory(forceFullCollection: true);
        return (managed, GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes);
    }

    /// <summary>
    /// The process's private resident memory: RssAnon of /proc/self/status where there is one (anonymous pages in RAM:
    /// the managed heap and native allocations, not the mapped binaries), otherwise the working set.
    /// </summary>
    internal static (long Bytes, string Source) ProcessPrivateBytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (var line in File.ReadLines(status))
            {
                if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    var parts = line["RssAnon:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length == 2 && parts[1] == "kB" && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
                    {
                        return (kb * 1024, "RssAnon");
                    }
                }
            }
        }
        return (Environment.WorkingSet, "WorkingSet");
    }
}
