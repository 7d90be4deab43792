using System.Collections.Immutable;
using Akka.Actor;
using Serilog;
using VApicActors.Actors;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Service;

/// <summary>
/// Runs one session's requests, in order: the service's own verbs (<c>vm</c> with <c>name=</c>/<c>keep=</c>,
/// <c>attach</c>, <c>watch</c>, <c>stats</c>, <c>quit</c>) here, everything else through a
/// <see cref="ScenarioSession"/> driving the session's current VM. Every VM comes from the
/// <see cref="VmRegistry"/>, so VMs are counted, shared and stopped in one place. Answers are formatted by
/// <see cref="ServiceResponse"/>; no request makes <see cref="ExecuteAsync"/> throw.
/// </summary>
internal sealed class SessionExecutor : ISessionExecutor
{
    private readonly long _sessionId;
    private readonly ActorSystem _system;
    private readonly VmRegistry _registry;
    private readonly ServiceStats _stats;
    private readonly ServiceSettings _settings;
    private readonly IInterruptWatcher _watcher;
    private readonly ScenarioSession _scenario;
    private readonly SortedSet<int> _watched = [];
    private readonly ILogger _log;
    private ServiceVm? _vm;
    private WatchMode _watchMode;
    private IActorRef? _watchActor;
    private int _vmCount;

    public SessionExecutor(long sessionId, ActorSystem system, VmRegistry registry, ServiceStats stats, ServiceSettings settings, ITraceSink? trace, IInterruptWatcher watcher, ILogger log)
    {
        _sessionId = sessionId;
        _system = system;
        _registry = registry;
        _stats = stats;
        _settings = settings;
        _watcher = watcher;
        _log = log;
        _scenario = new ScenarioSession(system, "s" + sessionId, trace);
    }

    /// <summary>The session asked to end (<c>quit</c>).</summary>
    public bool QuitRequested { get; private set; }

    /// <summary>The name of the VM the session drives (trace property <c>Vm</c>), or null before it has one.</summary>
    public string? VmName => _vm?.Handle.Spec.Name;

    /// <summary>The initial APIC ID of the selected vCPU.</summary>
    public uint SelectedApicId => _scenario.Spec.InitialApicId(_scenario.SelectedCpu);

    /// <summary>Runs one request line and returns its one-line answer.</summary>
    public async Task<string> ExecuteAsync(string line)
    {
        if (ServiceVerbs.Parse(line, out var parsed) is { } immediate)
        {
            return immediate;
        }

        var verb = parsed.Command[0].ToLowerInvariant();
        try
        {
            if (verb is "vm" or "attach" or "watch" or "stats" or "quit")
            {
                return await RunServiceVerbAsync(verb, parsed).ConfigureAwait(false);
            }

            if (verb == "cluster")
            {
                return ServiceResponse.Error("cluster: the service is not in cluster mode (start it with vapic serve --cluster)");
            }

            if (verb is "save" or "restore")
            {
                // A client must not make the service read or write files where the service runs.
                return ServiceResponse.Error($"{verb}: not available over the service: it would read or write the service's own files");
            }

            await EnsureVmAsync().ConfigureAwait(false);
            var outcome = await _scenario.ExecuteAsync(line).ConfigureAwait(false);
            // A failed expectation still selected the vCPU (the line ran); only an error selects none.
            if (verb == "cpu" && outcome.Kind is LineOutcomeKind.Executed or LineOutcomeKind.Passed or LineOutcomeKind.Failed && _watchMode == WatchMode.Driven && _watched.Add(_scenario.SelectedCpu))
            {
                await WatchAsync([_scenario.SelectedCpu]).ConfigureAwait(false);
            }
            return ServiceResponse.Format(outcome);
        }
        catch (ScenarioException e)
        {
            return ServiceResponse.Error(e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Error(e, "Session {SessionId}: request {Request} failed", _sessionId, line);
            return ServiceResponse.Error($"the service failed: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Stops watching, leaves the VM (stopping it if no one else drives it) and drops the session's state.</summary>
    public async ValueTask DisposeAsync()
    {
        _watchActor?.Tell(new InterruptWatchActor.Unwatch(_watcher));
        _watchActor = null;
        _watchMode = WatchMode.Off;
        await _scenario.DisposeAsync().ConfigureAwait(false);
        var vm = _vm;
        _vm = null;
        if (vm is not null)
        {
            await _registry.LeaveAsync(vm).ConfigureAwait(false);
        }
    }

    private async Task<string> RunServiceVerbAsync(string verb, ScenarioLine parsed)
    {
        var expected = parsed.Expected is null ? null : Expectation.Parse(parsed.Expected);
        var args = parsed.Command.Skip(1).ToArray();
        var result = verb switch
        {
            "vm" => await NewVmAsync(args).ConfigureAwait(false),
            "attach" => await AttachAsync(args).ConfigureAwait(false),
            "watch" => await WatchCommandAsync(args).ConfigureAwait(false),
            "stats" => Stats(args),
            _ => Quit(args),
        };
        return QuitRequested ? ServiceResponse.Bye() : ServiceVerbs.Answer(result, expected);
    }

    /// <summary><c>vm [name=NAME] [keep=yes|no] OPTIONS...</c>: the language's <c>vm</c>, optionally named and kept.</summary>
    private async Task<ScenarioResult> NewVmAsync(string[] args)
    {
        var (name, keep, options) = ServiceVerbs.SplitVmArgs(args);
        var spec = await ServiceVerbs.CheckVmOptionsAsync(_system, options, _settings).ConfigureAwait(false);

        // The old VM goes first, so that its vCPUs count no more against the limits when the new one is made.
        await DetachAsync().ConfigureAwait(false);
        var vm = name is null
            ? await _registry.CreatePrivateAsync(spec with { Name = PrivateName() }).ConfigureAwait(false)
            : await _registry.CreateNamedAsync(spec with { Name = name }, keep ?? false).ConfigureAwait(false);
        await SwitchToAsync(vm).ConfigureAwait(false);
        return ScenarioResult.Ok;
    }

    /// <summary><c>attach NAME</c>: drive the named VM from now on, starting at vCPU 0.</summary>
    private async Task<ScenarioResult> AttachAsync(string[] args)
    {
        if (args.Length != 1)
        {
            throw new ScenarioException("attach: expected one VM name (usage: attach NAME)");
        }
        var name = ServiceVerbs.CheckName(args[0]);
        var vm = _registry.Attach(name);
        if (ReferenceEquals(vm, _vm))
        {
            await _registry.LeaveAsync(vm).ConfigureAwait(false);
            await _scenario.AdoptAsync(vm.Handle).ConfigureAwait(false);
            return ScenarioResult.Ok;
        }
        await SwitchToAsync(vm).ConfigureAwait(false);
        return ScenarioResult.Ok;
    }

    /// <summary>
    /// <c>watch</c>: interrupt lines for the selected vCPU and every vCPU selected later with <c>cpu N</c>;
    /// <c>watch all</c>: for every vCPU of the VM; <c>watch off</c>: none. Switching VMs keeps the mode and starts
    /// again from the selected vCPU (0).
    /// </summary>
    private async Task<ScenarioResult> WatchCommandAsync(string[] args)
    {
        var mode = ServiceVerbs.ParseWatchMode(args);
        await UnwatchAsync().ConfigureAwait(false);
        _watchMode = mode;
        _watched.Clear();
        if (mode != WatchMode.Off)
        {
            await EnsureVmAsync().ConfigureAwait(false);
            _watched.Add(_scenario.SelectedCpu);
            await WatchAsync(WatchedVcpus()).ConfigureAwait(false);
        }
        return ScenarioResult.Ok;
    }

    private ScenarioResult Stats(string[] args)
    {
        ServiceVerbs.NoArguments("stats", args);
        return ScenarioResult.Word(_stats.Snapshot(_registry).Text);
    }

    private ScenarioResult Quit(string[] args)
    {
        ServiceVerbs.NoArguments("quit", args);
        QuitRequested = true;
        return ScenarioResult.Ok;
    }

    /// <summary>Before the first <c>vm</c> line a session drives its own default VM (<c>vm vcpus=1</c>), created on first use.</summary>
    private async Task EnsureVmAsync()
    {
        if (_vm is null)
        {
            var vm = await _registry.CreatePrivateAsync(_scenario.Spec with { Name = PrivateName() }).ConfigureAwait(false);
            await SwitchToAsync(vm).ConfigureAwait(false);
        }
    }

    /// <summary>Leaves the current VM; until the session gets another, it is back at the default VM (not yet created).</summary>
    private async Task DetachAsync()
    {
        var old = _vm;
        if (old is null)
        {
            return;
        }
        await UnwatchAsync().ConfigureAwait(false);
        _vm = null;
        // Drops the session's reference to the VM (which it does not own) and selects the default VM and vCPU 0.
        await _scenario.ExecuteAsync("vm vcpus=1").ConfigureAwait(false);
        await _registry.LeaveAsync(old).ConfigureAwait(false);
    }

    private async Task SwitchToAsync(ServiceVm vm)
    {
        var old = _vm;
        await UnwatchAsync().ConfigureAwait(false);
        _vm = vm;
        await _scenario.AdoptAsync(vm.Handle).ConfigureAwait(false);
        _watched.Clear();
        _watched.Add(_scenario.SelectedCpu);
        if (old is not null)
        {
            await _registry.LeaveAsync(old).ConfigureAwait(false);
        }
        if (_watchMode != WatchMode.Off)
        {
            await WatchAsync(WatchedVcpus()).ConfigureAwait(false);
        }
    }

    private ImmutableArray<int> WatchedVcpus() => _watchMode == WatchMode.All
        ? [.. Enumerable.Range(0, _vm!.VcpuCount)]
        : [.. _watched];

    private async Task WatchAsync(ImmutableArray<int> vcpus)
    {
        var timeout = VmHandle.DefaultRequestTimeout;
        var watch = await _vm!.WatchActorAsync(_system, timeout).ConfigureAwait(false);
        await watch.Ask<InterruptWatchActor.Watching>(new InterruptWatchActor.Watch(_watcher, vcpus), timeout).ConfigureAwait(false);
        _watchActor = watch;
    }

    private async Task UnwatchAsync()
    {
        var watch = _watchActor;
        _watchActor = null;
        if (watch is null)
        {
            return;
        }
        try
        {
            await watch.Ask<InterruptWatchActor.Watching>(new InterruptWatchActor.Unwatch(_watcher), VmHandle.DefaultRequestTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            // The VM (and its watcher) already stopped: nothing is left to unsubscribe from.
        }
    }

    private string PrivateName() => $"s{_sessionId}-{++_vmCount}";

}
