using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Service;

/// <summary>
/// Every VM the service runs, named or not. A VM is stopped when the last session driving it leaves,
/// unless it is named and kept; everything left is stopped when the service stops. Thread-safe.
/// Refusals (name taken, unknown name, limits, shutting down) are <see cref="ScenarioException"/>s,
/// answered to the client as <c>ERR</c>.
/// </summary>
public sealed class VmRegistry
{
    private readonly object _lock = new();
    private readonly Dictionary<string, ServiceVm?> _named = new(StringComparer.Ordinal);
    private readonly HashSet<ServiceVm> _all = [];
    private readonly ActorSystem _system;
    private readonly ServiceSettings _settings;
    private readonly ITraceSink? _trace;
    private bool _stopping;
    private int _vcpus;

    public VmRegistry(ActorSystem system, ServiceSettings settings, ITraceSink? trace)
    {
        _system = system ?? throw new ArgumentNullException(nameof(system));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _trace = trace;
    }

    /// <summary>VMs running now, and their vCPUs.</summary>
    public (int Vms, int Vcpus) Count()
    {
        lock (_lock)
        {
            return (_all.Count, _all.Sum(v => v.VcpuCount));
        }
    }

    /// <summary>The names of the named VMs running now.</summary>
    public IReadOnlyList<string> Names()
    {
        lock (_lock)
        {
            return _named.Where(p => p.Value is not null).Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();
        }
    }

    /// <summary>The named VM, or null.</summary>
    public ServiceVm? Find(string name)
    {
        lock (_lock)
        {
            return _named.TryGetValue(name, out var vm) ? vm : null;
        }
    }

    /// <summary>Creates the VM named <c>spec.Name</c>, driven by the calling session.</summary>
    public async Task<ServiceVm> CreateNamedAsync(VmSpec spec, bool keep)
    {
        ArgumentNullException.ThrowIfNull(spec);
        lock (_lock)
        {
            ThrowIfStopping();
            if (_named.ContainsKey(spec.Name))
            {
                throw new ScenarioException($"a VM named '{spec.Name}' already exists (attach {spec.Name} to drive it)");
            }
            if (_named.Count >= _settings.MaxNamedVms)
            {
                throw new ScenarioException($"too many named VMs (at most {_settings.MaxNamedVms})");
            }
            ReserveVcpus(spec.VcpuCount);
            _named.Add(spec.Name, null);
        }

        ServiceVm vm;
        try
        {
            vm = new ServiceVm(await VmHandle.CreateAsync(_system, spec, _trace).ConfigureAwait(false), spec.Name, keep);
        }
        catch
        {
            lock (_lock)
            {
                _named.Remove(spec.Name);
                _vcpus -= spec.VcpuCount;
            }
            throw;
        }
        vm.Join();
        bool stopping;
        lock (_lock)
        {
            stopping = _stopping;
            if (stopping)
            {
                _named.Remove(spec.Name);
                _vcpus -= spec.VcpuCount;
            }
            else
            {
                _named[spec.Name] = vm;
                _all.Add(vm);
            }
        }
        if (stopping)
        {
            await vm.StopAsync(_system).ConfigureAwait(false);
            ThrowStopping();
        }
        return vm;
    }

    /// <summary>Creates a session's own VM.</summary>
    public async Task<ServiceVm> CreatePrivateAsync(VmSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        lock (_lock)
        {
            ThrowIfStopping();
            ReserveVcpus(spec.VcpuCount);
        }
        ServiceVm vm;
        try
        {
            vm = new ServiceVm(await VmHandle.CreateAsync(_system, spec, _trace).ConfigureAwait(false), null, keep: false);
        }
        catch
        {
            lock (_lock)
            {
                _vcpus -= spec.VcpuCount;
            }
            throw;
        }
        vm.Join();
        bool stopping;
        lock (_lock)
        {
            stopping = _stopping;
            if (stopping)
            {
                _vcpus -= spec.VcpuCount;
            }
            else
            {
                _all.Add(vm);
            }
        }
        if (stopping)
        {
            await vm.StopAsync(_system).ConfigureAwait(false);
            ThrowStopping();
        }
        return vm;
    }

    /// <summary>Joins the named VM.</summary>
    public ServiceVm Attach(string name)
    {
        lock (_lock)
        {
            ThrowIfStopping();
            if (!_named.TryGetValue(name, out var vm) || vm is null)
            {
                throw new ScenarioException($"no VM named '{ScenarioException.Quote(name)}'");
            }
            vm.Join();
            return vm;
        }
    }

    /// <summary>The calling session no longer drives <paramref name="vm"/>; the last one out stops it unless it is kept.</summary>
    public async Task LeaveAsync(ServiceVm vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        bool stop;
        lock (_lock)
        {
            stop = vm.Leave() <= 0 && !vm.Keep && _all.Remove(vm);
            if (stop)
            {
                _vcpus -= vm.VcpuCount;
                if (vm.Name is not null)
                {
                    _named.Remove(vm.Name);
                }
            }
        }
        if (stop)
        {
            await vm.StopAsync(_system).ConfigureAwait(false);
        }
    }

    /// <summary>Refuses new VMs and stops every VM, kept ones included.</summary>
    public async Task StopAllAsync()
    {
        ServiceVm[] all;
        lock (_lock)
        {
            _stopping = true;
            all = [.. _all];
            _all.Clear();
            _named.Clear();
            _vcpus = 0;
        }
        await Task.WhenAll(all.Select(v => v.StopAsync(_system))).ConfigureAwait(false);
    }

    /// <summary>Counts <paramref name="vcpus"/> more against <c>max-vcpus</c>, or refuses them. Called under the lock.</summary>
    private void ReserveVcpus(int vcpus)
    {
        if (_vcpus + (long)vcpus > _settings.MaxVcpus)
        {
            throw new ScenarioException($"vm: the service runs {_vcpus} vCPUs; {vcpus} more would pass its limit of {_settings.MaxVcpus}");
        }
        _vcpus += vcpus;
    }

    private void ThrowIfStopping()
    {
        if (_stopping)
        {
            ThrowStopping();
        }
    }

    private static void ThrowStopping() => throw new ScenarioException("the service is shutting down");
}
