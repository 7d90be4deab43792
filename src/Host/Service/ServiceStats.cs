using System.Diagnostics;

namespace VApicActors.Host.Service;

/// <summary>The service's counters. Thread-safe; the rate is refreshed by <see cref="Sample"/>.</summary>
public sealed class ServiceStats
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _sessions;
    private long _requests;
    private long _errors;
    private long _failed;
    private long _sessionsTotal;
    private long _refused;
    private long _sampledRequests;
    private long _sampledAtTicks;
    private double _rate;

    public int Sessions => Volatile.Read(ref _sessions);

    public long Requests => Interlocked.Read(ref _requests);

    internal void SessionOpened()
    {
        Interlocked.Increment(ref _sessions);
        Interlocked.Increment(ref _sessionsTotal);
    }

    internal void SessionClosed() => Interlocked.Decrement(ref _sessions);

    internal void Refused() => Interlocked.Increment(ref _refused);

    /// <summary>Counts one answered request by its answer.</summary>
    internal void Answered(string response)
    {
        Interlocked.Increment(ref _requests);
        if (response.StartsWith(ServiceResponse.ExpectedPrefix, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _failed);
        }
        else if (response.StartsWith(ServiceResponse.ErrorPrefix, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _errors);
        }
    }

    /// <summary>Refreshes the request rate from the requests answered since the previous call.</summary>
    internal void Sample()
    {
        var now = _clock.ElapsedTicks;
        var requests = Requests;
        lock (_clock)
        {
            var seconds = (double)(now - _sampledAtTicks) / Stopwatch.Frequency;
            if (seconds > 0)
            {
                _rate = (requests - _sampledRequests) / seconds;
            }
            _sampledRequests = requests;
            _sampledAtTicks = now;
        }
    }

    public ServiceStatsSnapshot Snapshot(VmRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return Snapshot(registry.Count());
    }

    /// <summary>The figures, with <paramref name="running"/> as the VMs and vCPUs the service runs now.</summary>
    public ServiceStatsSnapshot Snapshot((int Vms, int Vcpus) running)
    {
        var (vms, vcpus) = running;
        double rate;
        lock (_clock)
        {
            rate = _rate;
        }
        return new ServiceStatsSnapshot(
            Sessions, vms, vcpus, Requests, rate,
            Interlocked.Read(ref _errors), Interlocked.Read(ref _failed),
            Interlocked.Read(ref _sessionsTotal), Interlocked.Read(ref _refused), _clock.Elapsed);
    }
}
