using Akka.Actor;
using Serilog;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Service;

namespace VApicActors.Host.Cluster;

/// <summary>
/// A service session in cluster mode. Every VM is a sharded entity (<see cref="VmEntity"/>) on whichever node
/// hosts it; the session keeps only its VM's name and its selected vCPU, and sends each line there. The service's
/// own verbs behave as in single-machine mode; <c>cluster</c> describes the cluster. A session's own VM (before its
/// first <c>vm name=</c>) gets a name unique in the cluster. Interrupt and <c>LOST</c> lines come back to the
/// session's port actor, wherever the VM is.
/// </summary>
internal sealed class ClusterSessionExecutor : ISessionExecutor
{
    private readonly long _sessionId;
    private readonly ActorSystem _system;
    private readonly VmShards _shards;
    private readonly ServiceStats _stats;
    private readonly ServiceSettings _settings;
    private readonly ILogger _log;
    private readonly IActorRef _port;
    private readonly string _privatePrefix = "s" + Guid.NewGuid().ToString("N")[..12];
    private readonly SortedSet<int> _watched = [];
    private string? _vm;
    private int _vcpus;
    private int _cpu;
    private uint _apicId;
    private WatchMode _watchMode;
    private int _vmCount;

    public ClusterSessionExecutor(long sessionId, ActorSystem system, VmShards shards, ServiceStats stats, ServiceSettings settings, IInterruptWatcher watcher, ILogger log)
    {
        _sessionId = sessionId;
        _system = system;
        _shards = shards;
        _stats = stats;
        _settings = settings;
        _log = log;
        _port = system.ActorOf(SessionPortActor.Props(watcher), "session-" + sessionId + "-" + Guid.NewGuid().ToString("N")[..8]);
    }

    public bool QuitRequested { get; private set; }

    public string? VmName => _vm;

    public uint SelectedApicId => _apicId;

    /// <summary>The node that hosted the VM at the last create or attach.</summary>
    public string? VmNode { get; private set; }

    public async Task<string> ExecuteAsync(string line)
    {
        if (ServiceVerbs.Parse(line, out var parsed) is { } immediate)
        {
            return immediate;
        }
        var verb = parsed.Command[0].ToLowerInvariant();
        try
        {
            if (verb is "vm" or "attach" or "watch" or "stats" or "quit" or "cluster")
            {
                var expected = parsed.Expected is null ? null : Expectation.Parse(parsed.Expected);
                var result = await RunServiceVerbAsync(verb, [.. parsed.Command.Skip(1)]).ConfigureAwait(false);
                return QuitRequested ? ServiceResponse.Bye() : ServiceVerbs.Answer(result, expected);
            }
            if (verb is "save" or "restore")
            {
                return ServiceResponse.Error($"{verb}: not available over the service: it would read or write the service's own files");
            }
            await EnsureVmAsync().ConfigureAwait(false);
            var reply = await _shards.AskAsync(new RunLine(_vm!, _port, _cpu, line)).ConfigureAwait(false);
            if (reply is not LineDone done)
            {
                return ServiceResponse.Error(Refusal(reply));
            }
            var previous = _cpu;
            _cpu = done.Cpu;
            _apicId = done.ApicId;
            if (_cpu != previous && _watchMode == WatchMode.Driven && _watched.Add(_cpu))
            {
                await WatchAsync().ConfigureAwait(false);
            }
            return done.Answer;
        }
        catch (ScenarioException e)
        {
            return ServiceResponse.Error(e.Message);
        }
        catch (AskTimeoutException e)
        {
            // The VM the request was for: an attach or a new VM asks another than the session's.
            var vm = e is VmDidNotAnswerException named ? named.Vm : _vm;
            return ServiceResponse.Error($"the VM '{vm}' did not answer within {_shards.Settings.RequestTimeout.TotalSeconds:0.#} s (is a node hosting VMs up?)");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Error(e, "Session {SessionId}: request {Request} failed", _sessionId, line);
            return ServiceResponse.Error($"the service failed: {e.GetType().Name}: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await LeaveAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            // The VM's node is gone: the VM notices the session's port stopping.
        }
        _system.Stop(_port);
    }

    private async Task<ScenarioResult> RunServiceVerbAsync(string verb, string[] args)
    {
        switch (verb)
        {
            case "vm":
                return await NewVmAsync(args).ConfigureAwait(false);
            case "attach":
                if (args.Length != 1)
                {
                    throw new ScenarioException("attach: expected one VM name (usage: attach NAME)");
                }
                return await AttachAsync(ServiceVerbs.CheckName(args[0])).ConfigureAwait(false);
            case "watch":
                _watchMode = ServiceVerbs.ParseWatchMode(args);
                _watched.Clear();
                if (_watchMode != WatchMode.Off)
                {
                    await EnsureVmAsync().ConfigureAwait(false);
                    _watched.Add(_cpu);
                }
                if (_vm is not null)
                {
                    await WatchAsync().ConfigureAwait(false);
                }
                return ScenarioResult.Ok;
            case "stats":
                ServiceVerbs.NoArguments("stats", args);
                return ScenarioResult.Word(_stats.Snapshot(_shards.Hosted).Text);
            case "cluster":
                ServiceVerbs.NoArguments("cluster", args);
                return ScenarioResult.Word((await _shards.ViewAsync().ConfigureAwait(false)).ToLine());
            default:
                ServiceVerbs.NoArguments("quit", args);
                QuitRequested = true;
                return ScenarioResult.Ok;
        }
    }

    private async Task<ScenarioResult> NewVmAsync(string[] args)
    {
        var (name, keep, options) = ServiceVerbs.SplitVmArgs(args);
        var spec = await ServiceVerbs.CheckVmOptionsAsync(_system, options, _settings).ConfigureAwait(false);
        await LeaveAsync().ConfigureAwait(false);
        var vm = name ?? PrivateName();
        await JoinAsync(new CreateVm(vm, spec with { Name = vm }, keep ?? false, _port)).ConfigureAwait(false);
        return ScenarioResult.Ok;
    }

    /// <summary>
    /// <c>attach NAME</c>: joins the named VM first and leaves the current one only then, as on one machine: a name that
    /// is not a VM is refused and the session keeps its VM, and attaching to the session's own VM keeps it alive (back
    /// at vCPU 0) instead of ending it on the way.
    /// </summary>
    private async Task<ScenarioResult> AttachAsync(string name)
    {
        var reply = await _shards.AskAsync(new AttachVm(name, _port)).ConfigureAwait(false);
        if (reply is not VmReady ready)
        {
            throw new ScenarioException(Refusal(reply));
        }
        var old = _vm;
        if (old is not null && !string.Equals(old, name, StringComparison.Ordinal))
        {
            _vm = null;
            try
            {
                await _shards.AskAsync(new DetachVm(old, _port)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // The old VM's node is gone; the session drives the new VM all the same.
                _log.Warning("Session {SessionId}: leaving VM {Vm} got no answer", _sessionId, old);
            }
        }
        await UseAsync(ready).ConfigureAwait(false);
        return ScenarioResult.Ok;
    }

    /// <summary>Before the first <c>vm</c> line a session drives its own default VM (<c>vm vcpus=1</c>), created on first use.</summary>
    private async Task EnsureVmAsync()
    {
        if (_vm is null)
        {
            var vm = PrivateName();
            await JoinAsync(new CreateVm(vm, ScenarioSession.DefaultSpec(vm), false, _port)).ConfigureAwait(false);
        }
    }

    private async Task JoinAsync(IVmMessage request)
    {
        var reply = await _shards.AskAsync(request).ConfigureAwait(false);
        if (reply is not VmReady ready)
        {
            throw new ScenarioException(Refusal(reply));
        }
        await UseAsync(ready).ConfigureAwait(false);
    }

    /// <summary>Drives the VM <paramref name="ready"/> describes from now on, from vCPU 0, watching it as the session's mode says.</summary>
    private async Task UseAsync(VmReady ready)
    {
        _vm = ready.Vm;
        _vcpus = ready.Vcpus;
        VmNode = ready.Node;
        _cpu = 0;
        _apicId = ready.FirstApicId;
        _watched.Clear();
        _watched.Add(0);
        if (_watchMode != WatchMode.Off)
        {
            await WatchAsync().ConfigureAwait(false);
        }
    }

    private async Task LeaveAsync()
    {
        var vm = _vm;
        _vm = null;
        _cpu = 0;
        _apicId = 0;
        if (vm is not null)
        {
            await _shards.AskAsync(new DetachVm(vm, _port)).ConfigureAwait(false);
        }
    }

    private async Task WatchAsync()
    {
        var vcpus = _watchMode == WatchMode.Driven ? _watched.ToArray() : [];
        var reply = await _shards.AskAsync(new WatchVm(_vm!, _port, _watchMode == WatchMode.All, vcpus)).ConfigureAwait(false);
        if (reply is not VmReady)
        {
            throw new ScenarioException(Refusal(reply));
        }
    }

    private static string Refusal(object reply) => reply switch
    {
        VmRefused r => r.Reason,
        Status.Failure f => f.Cause.Message,
        _ => "unexpected answer " + reply.GetType().Name,
    };

    /// <summary>A name unique in the cluster that no <c>vm name=</c> can give (see <see cref="VmShards.IsPrivateName"/>).</summary>
    private string PrivateName() => $"{_privatePrefix}.{_sessionId}.{++_vmCount}";
}

/// <summary>A session's address in the cluster: it passes the lines VMs send it (interrupts, <c>LOST</c>) to the session.</summary>
internal sealed class SessionPortActor : ReceiveActor
{
    public SessionPortActor(IInterruptWatcher watcher)
    {
        Receive<SessionLine>(m => watcher.OnNotice(m.Line));
    }

    public static Props Props(IInterruptWatcher watcher) => Akka.Actor.Props.Create(() => new SessionPortActor(watcher));
}
