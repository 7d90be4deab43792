using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using VApicActors.Actors;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Service;

namespace VApicActors.Host.Cluster;

/// <summary>
/// One VM of the cluster, as a Cluster.Sharding entity keyed by the VM's name. Its children are the VM — the VM
/// actor with its router, vAPICs and clock — so a VM's IPIs never leave the node that hosts it. Sessions on any
/// node reach it through the shard region with <see cref="RunLine"/> and friends; it runs each line with a
/// <see cref="ScenarioSession"/> at the session's vCPU and answers the service's answer line.
/// <para>
/// Its state survives moves and crashes through Akka.Persistence: a snapshot of the complete VM state (the
/// save/restore format) is saved when the VM is created, every <c>snapshot-interval</c> while it changes, and when
/// its shard moves (<see cref="HandOffVm"/>), after which it stops; the entity that starts on the new node
/// recovers from that snapshot and continues exactly there. A VM recovered from any other snapshot, or from a hand-off snapshot it ran on after (its node crashed),
/// tells its sessions with a <c>LOST</c> line what was lost.
/// </para>
/// </summary>
internal sealed class VmEntity : UntypedPersistentActor, IWithTimers
{
    private const string SnapshotTimer = "snapshot";
    private const string EndingTimer = "ending";
    private static readonly TimeSpan EndingTimeout = TimeSpan.FromSeconds(10);

    private readonly string _name;
    private readonly ClusterSettings _settings;
    private readonly ITraceSink? _trace;
    private readonly HostedVms _hosted;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, PortWatcher> _sessions = [];
    private readonly List<IActorRef> _snapshotWaiters = [];
    private readonly List<IActorRef> _createdWaiters = [];
    private VmHandle? _vm;
    private ScenarioSession? _scenario;
    private IActorRef? _watch;
    private VmSnapshot? _offered;
    private bool _resumedAfterOffered;
    private List<string> _offeredSessions = [];
    private bool _keep;
    private bool _dirty;
    private bool _handingOff;
    private long _handoffSnapshotNr;
    private bool _ending;
    private int _savesPending;
    private bool _deletionsSent;
    private bool _snapshotsDeleted;
    private bool _messagesDeleted;
    private bool _stopRequested;
    private long _deleteMessagesTo;
    private readonly List<(CreateVm Request, IActorRef Sender)> _createsAfterEnd = [];
    private (long VirtualTimeNs, int Bytes) _lastSaved;
    private DateTime _nextTimerSnapshot;

    public VmEntity(string name, ClusterSettings settings, ITraceSink? trace, HostedVms hosted)
    {
        _hosted = hosted;
        _name = name;
        _settings = settings;
        _trace = trace;
    }

    public static string TypeName => "vm";

    public override string PersistenceId => "vm-" + _name;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>This node as HOST:PORT.</summary>
    private string Node
    {
        get
        {
            var address = Akka.Cluster.Cluster.Get(Context.System).SelfAddress;
            return address.Host + ":" + address.Port;
        }
    }

    public static Props Props(string name, ClusterSettings settings, ITraceSink? trace, HostedVms hosted) =>
        Akka.Actor.Props.Create(() => new VmEntity(name, settings, trace, hosted));

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: VmSnapshot snapshot }:
                _offered = snapshot;
                _resumedAfterOffered = false;
                _offeredSessions = [.. snapshot.Sessions];
                break;
            case VmSessionChanged e when _offered is not null:
                if (e.Joined)
                {
                    _offeredSessions.Add(e.Session);
                }
                else
                {
                    _offeredSessions.Remove(e.Session);
                }
                break;
            case VmCheckpoint when _offered is not null:
                // Written after the offered snapshot: the VM ran on after it (a moved VM marks its restart so), so the
                // snapshot is not where it stopped, even when it was a hand-off's.
                _resumedAfterOffered = true;
                break;
            case RecoveryCompleted when _offered is { } offered:
                _offered = null;
                RunTask(() => RestoreAsync(offered, moved: offered.Handoff && !_resumedAfterOffered));
                break;
            case RecoveryCompleted:
                // Nothing stored under the name. The requests that started the entity come before this check; when none
                // made a VM, the entity goes: a shard that remembers an ended VM's entity (one stopped by a hand-off
                // before it could passivate) starts it on its next node with no request at all, and it would sit
                // there, and be started again after every move, for good.
                Self.Tell(IdleCheck.Instance);
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case RunLine m:
                OnRunLine(m);
                break;
            case CreateVm m:
                OnCreate(m);
                break;
            case AttachVm m:
                OnAttach(m);
                break;
            case DetachVm m:
                Detach(m.Session, Sender);
                break;
            case WatchVm m:
                OnWatch(m);
                break;
            case GetVmState:
                if (Gone)
                {
                    Sender.Tell(new VmRefused(_name, $"no VM named '{_name}'"));
                    Passivate();
                    break;
                }
                var stateTo = Sender;
                RunTask(async () =>
                {
                    var state = await TryTakeStateAsync(_vm, "its state").ConfigureAwait(true);
                    stateTo.Tell(state is null ? new VmRefused(_name, DidNotAnswer) : new VmStateTaken(_name, Node, VmStatePacking.Pack(state)));
                });
                break;
            case SnapshotVm:
                if (Gone)
                {
                    Sender.Tell(new VmRefused(_name, $"no VM named '{_name}'"));
                    break;
                }
                _snapshotWaiters.Add(Sender);
                RunTask(() => SnapshotAsync(handoff: false));
                break;
            case SnapshotTick:
                // Ticks that queued up while the entity waited for a VM that did not answer are let go: the next try is an
                // interval after that wait, not one per queued tick, each waiting as long again.
                if (!Gone && _dirty && DateTime.UtcNow >= _nextTimerSnapshot)
                {
                    RunTask(async () =>
                    {
                        await SnapshotAsync(handoff: false).ConfigureAwait(true);
                        _nextTimerSnapshot = DateTime.UtcNow + _settings.SnapshotInterval / 2;
                    });
                }
                break;
            case HandOffVm when _ending:
                // An ended VM's entity still stops only once its stored state is deleted (at once if it already is): the
                // entity that starts for the name on the shard's new node would recover the VM from a snapshot not yet
                // deleted.
                _handingOff = true;
                if (_stopRequested)
                {
                    Context.Stop(Self);
                    break;
                }
                StopIfStoredStateDeleted();
                break;
            case HandOffVm:
                if (_vm is null)
                {
                    Context.Stop(Self);
                    break;
                }
                // The entity stops once this snapshot is saved, whatever earlier save (the creation's, a timer's) the store
                // answers first: the entity on the shard's new node must find this one. No timer snapshot after it.
                _handingOff = true;
                Timers.Cancel(SnapshotTimer);
                RunTask(() => SnapshotAsync(handoff: true));
                break;
            case Terminated t when _sessions.ContainsKey(t.ActorRef):
                Detach(t.ActorRef, null);
                break;
            case SaveSnapshotSuccess s:
                _savesPending--;
                OnSnapshotSaved(s.Metadata);
                DeleteStoredStateIfEnded();
                break;
            case SaveSnapshotFailure f:
                _savesPending--;
                _log.Error(f.Cause, "VM {Vm}: its snapshot could not be saved", _name);
                AnswerSnapshotWaiters("the snapshot could not be saved");
                // (The VM runs all the same; only a crash would lose it, as the error says.)
                AnswerCreatedWaiters();
                if (IsHandoffSnapshot(f.Metadata) && !_ending)
                {
                    // (An ended VM's entity waits for its stored state to be deleted: StopIfStoredStateDeleted.)
                    Context.Stop(Self);
                }
                DeleteStoredStateIfEnded();
                break;
            case DeleteSnapshotsFailure f when IsEndingDeletion(f.Criteria):
                _log.Error(f.Cause, "VM {Vm} ended, but its snapshots could not be deleted", _name);
                _snapshotsDeleted = true;
                StopIfStoredStateDeleted();
                break;
            case DeleteMessagesFailure f when IsEndingDeletion(f.ToSequenceNr):
                _log.Error(f.Cause, "VM {Vm} ended, but its journal could not be deleted", _name);
                _messagesDeleted = true;
                StopIfStoredStateDeleted();
                break;
            case DeleteSnapshotsSuccess d when IsEndingDeletion(d.Criteria):
                _snapshotsDeleted = true;
                StopIfStoredStateDeleted();
                break;
            case DeleteMessagesSuccess d when IsEndingDeletion(d.ToSequenceNr):
                _messagesDeleted = true;
                StopIfStoredStateDeleted();
                break;
            case DeleteSnapshotsSuccess or DeleteMessagesSuccess or DeleteSnapshotsFailure or DeleteMessagesFailure:
                // The clean-up after an earlier snapshot: the ending's deletions are the ones that count.
                break;
            case IdleCheck:
                if (_vm is null && !_ending && _createdWaiters.Count == 0)
                {
                    Passivate();
                }
                break;
            case EndingTimedOut:
                _snapshotsDeleted = _messagesDeleted = true;
                StopIfStoredStateDeleted();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    protected override void PostStop()
    {
        if (_vm is not null)
        {
            _hosted.Remove(_vm.VcpuCount, Named);
            _vm.Vm.Tell(PoisonPill.Instance);
        }
        if (_createsAfterEnd.Count > 0)
        {
            var region = ClusterSharding.Get(Context.System).ShardRegion(TypeName);
            foreach (var (request, sender) in _createsAfterEnd)
            {
                region.Tell(request, sender);
            }
        }
        base.PostStop();
    }

    private void OnCreate(CreateVm m)
    {
        if (_ending)
        {
            // A new VM of the name: made by the entity that starts for the name once this one has stopped.
            _createsAfterEnd.Add((m, Sender));
            return;
        }
        if (_vm is not null)
        {
            Sender.Tell(new VmRefused(_name, $"a VM named '{_name}' already exists (attach {_name} to drive it)"));
            return;
        }
        if (_hosted.TryAdd(m.Spec.VcpuCount, Named) is { } refused)
        {
            Sender.Tell(new VmRefused(_name, refused));
            Passivate();
            return;
        }
        var replyTo = Sender;
        RunTask(async () =>
        {
            try
            {
                await StartVmAsync(m.Spec with { Name = _name }, null, counted: true).ConfigureAwait(true);
            }
            catch (Exception e) when (e is ArgumentException or ScenarioException)
            {
                _hosted.Remove(m.Spec.VcpuCount, Named);
                replyTo.Tell(new VmRefused(_name, "vm: " + e.Message));
                Passivate();
                return;
            }
            catch (Exception e) when (_vm is null && e is AskTimeoutException or TaskCanceledException)
            {
                // Its actors did not come up within the request timeout (a node too busy): no VM, and the name is free again.
                _hosted.Remove(m.Spec.VcpuCount, Named);
                replyTo.Tell(new VmRefused(_name, $"vm: the VM's actors did not start within {_settings.RequestTimeout.TotalSeconds:0.#} s; try again"));
                Passivate();
                return;
            }
            catch when (_vm is null)
            {
                _hosted.Remove(m.Spec.VcpuCount, Named);
                throw;
            }
            _keep = m.Keep;
            AddSession(m.Session);
            _dirty = true;
            // The first snapshot: the creation is answered once the store has it, so that a crash from the answer on
            // brings the VM back at least as it was created.
            _createdWaiters.Add(replyTo);
            await SnapshotAsync(handoff: false).ConfigureAwait(true);
            _log.Info("VM {Vm} created with {Vcpus} vCPUs on {Node}", _name, m.Spec.VcpuCount, Node);
        });
    }

    private void OnAttach(AttachVm m)
    {
        if (Gone)
        {
            Sender.Tell(new VmRefused(_name, $"no VM named '{_name}'"));
            Passivate();
            return;
        }
        var replyTo = Sender;
        if (AddSession(m.Session))
        {
            // Answered once the store holds it: a crash from then on restores the VM with this session, which is told.
            Persist(new VmSessionChanged(SessionPath(m.Session), Joined: true), _ => replyTo.Tell(Ready()));
            return;
        }
        replyTo.Tell(Ready());
    }

    /// <summary>A session's actor path as the snapshot and the journal keep it.</summary>
    private string SessionPath(IActorRef session) =>
        session.Path.ToSerializationFormatWithAddress(Akka.Cluster.Cluster.Get(Context.System).SelfAddress);

    private void OnRunLine(RunLine m)
    {
        if (Gone || _scenario is null)
        {
            Sender.Tell(new LineDone(ServiceResponse.Error($"no VM named '{_name}' (it has ended)"), m.Cpu));
            Passivate();
            return;
        }
        var replyTo = Sender;
        RunTask(async () =>
        {
            string answer;
            var cpu = m.Cpu;
            try
            {
                _scenario.SelectCpu(m.Cpu);
                var outcome = await _scenario.ExecuteAsync(m.Line).ConfigureAwait(true);
                answer = ServiceResponse.Format(outcome);
                cpu = _scenario.SelectedCpu;
            }
            catch (ScenarioException e)
            {
                answer = ServiceResponse.Error(e.Message);
            }
            _dirty = true;
            replyTo.Tell(new LineDone(answer, cpu, _vm.Spec.InitialApicId(cpu)));
        });
    }

    private void OnWatch(WatchVm m)
    {
        if (Gone)
        {
            Sender.Tell(new VmRefused(_name, $"no VM named '{_name}'"));
            return;
        }
        var replyTo = Sender;
        RunTask(async () =>
        {
            var watcher = _sessions.TryGetValue(m.Session, out var known) ? known : new PortWatcher(m.Session);
            var timeout = _settings.RequestTimeout;
            try
            {
                _watch ??= await ServiceVm.CreateWatchActorAsync(Context, _vm, timeout).ConfigureAwait(true);
                await _watch.Ask<InterruptWatchActor.Watching>(new InterruptWatchActor.Unwatch(watcher), timeout).ConfigureAwait(true);
                ImmutableArray<int> vcpus = m.All ? [.. Enumerable.Range(0, _vm.VcpuCount)] : [.. m.Vcpus.Where(v => v >= 0 && v < _vm.VcpuCount)];
                if (vcpus.Length > 0)
                {
                    await _watch.Ask<InterruptWatchActor.Watching>(new InterruptWatchActor.Watch(watcher, vcpus), timeout).ConfigureAwait(true);
                }
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // (The VM's vAPICs are busy: the session is told, and may ask again.)
                replyTo.Tell(new VmRefused(_name, DidNotAnswer));
                return;
            }
            replyTo.Tell(Ready());
        });
    }

    private VmReady Ready() => new(_name, _vm!.VcpuCount, Node, _vm.Spec.InitialApicId(0));

    /// <returns>Whether the session was not one of the VM's yet.</returns>
    private bool AddSession(IActorRef session)
    {
        if (_sessions.ContainsKey(session))
        {
            return false;
        }
        _sessions.Add(session, new PortWatcher(session));
        Context.Watch(session);
        _dirty = true;
        return true;
    }

    /// <summary>The session leaves; the last one out ends the VM unless it is kept.</summary>
    private void Detach(IActorRef session, IActorRef? replyTo)
    {
        var left = _sessions.Remove(session, out var watcher);
        if (left)
        {
            Context.Unwatch(session);
            _watch?.Tell(new InterruptWatchActor.Unwatch(watcher!));
            _dirty = true;
        }
        object answer = _vm is not null ? Ready() : new VmRefused(_name, $"no VM named '{_name}'");
        if (left && _vm is not null && (_sessions.Count > 0 || _keep) && !_ending)
        {
            // The VM goes on: a crash from now on must not restore it with this session (which would be told of a VM it
            // left, and which the VM would wait for before it ends).
            Persist(new VmSessionChanged(SessionPath(session), Joined: false), _ => replyTo?.Tell(answer));
            return;
        }
        if (_vm is { } vm && _sessions.Count == 0 && !_keep && !_ending)
        {
            // Nobody drives the VM and nobody may come back to it: it ends now, before the answer, and gives its share of
            // the node's limits back; its stored state goes too.
            _ending = true;
            _log.Info("VM {Vm} ended: its last session left", _name);
            _vm = null;
            _scenario = null;
            _hosted.Remove(vm.VcpuCount, Named);
            vm.Vm.Tell(PoisonPill.Instance);
            // No snapshot after the deletion either: it would bring the VM back.
            Timers.Cancel(SnapshotTimer);
            DeleteStoredStateIfEnded();
            // The entity stops once its stored state is gone: one started for the name before then would recover the VM
            // from it. (Should the store not answer, it stops all the same.)
            Timers.StartSingleTimer(EndingTimer, EndingTimedOut.Instance, EndingTimeout);
        }
        replyTo?.Tell(answer);
    }

    /// <summary>
    /// The VM is not there, or it ended (its last session left) and its entity waits for its stored state to be deleted:
    /// everything but a new <c>vm</c> (kept for the next entity of the name) is answered as for a name that is no VM.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(false, nameof(_vm))]
    private bool Gone => _vm is null || _ending;

    /// <summary>
    /// Deletes an ended VM's snapshots and journal, once no snapshot of it is still being saved: a save the store finished
    /// after the deletion would leave a snapshot behind, from which the next entity of the name would bring the VM back.
    /// (The VM is saved when it is created, and its session may leave before the store has answered.)
    /// </summary>
    private void DeleteStoredStateIfEnded()
    {
        if (!_ending || _deletionsSent || _savesPending > 0)
        {
            return;
        }
        _deletionsSent = true;
        _deleteMessagesTo = LastSequenceNr;
        DeleteSnapshots(SnapshotSelectionCriteria.Latest);
        DeleteMessages(_deleteMessagesTo);
    }

    /// <summary>
    /// Whether a deletion of snapshots is the ending's (every snapshot), not the clean-up of older ones after a save,
    /// whose answer may come while the VM ends.
    /// </summary>
    private bool IsEndingDeletion(SnapshotSelectionCriteria criteria) =>
        _deletionsSent && criteria.MaxSequenceNr == SnapshotSelectionCriteria.Latest.MaxSequenceNr;

    /// <summary>Whether a deletion of the journal reaches as far as the ending's.</summary>
    private bool IsEndingDeletion(long toSequenceNr) => _deletionsSent && toSequenceNr >= _deleteMessagesTo;

    /// <summary>
    /// Stops an ended VM's entity once both deletions of its stored state are answered (or they took too long): by
    /// passivation, or at once when its shard is being handed off, which waits for its entities to stop.
    /// </summary>
    private void StopIfStoredStateDeleted()
    {
        if (!_ending || !_snapshotsDeleted || !_messagesDeleted || _stopRequested)
        {
            return;
        }
        _stopRequested = true;
        Timers.Cancel(EndingTimer);
        if (_handingOff)
        {
            Context.Stop(Self);
            return;
        }
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    /// <summary>Created with <c>vm name=NAME</c>, not a session's own VM: it counts against <c>max-named-vms</c>.</summary>
    private bool Named => !VmShards.IsPrivateName(_name);

    /// <param name="counted">The VM is already counted among the node's (a creation that the limits let through).</param>
    private async Task StartVmAsync(VmSpec spec, VmState? state, bool counted = false)
    {
        var vm = await VmHandle.CreateAsync(Context, spec, _trace, _settings.RequestTimeout).ConfigureAwait(true);
        var scenario = new ScenarioSession(Context.System, _name, _trace);
        try
        {
            if (state is not null)
            {
                await vm.RestoreAsync(state).ConfigureAwait(true);
            }
            await scenario.AdoptAsync(vm).ConfigureAwait(true);
        }
        catch
        {
            vm.Vm.Tell(PoisonPill.Instance);
            throw;
        }
        _vm = vm;
        _scenario = scenario;
        if (!counted)
        {
            _hosted.Add(vm.VcpuCount, Named);
        }
        Timers.StartPeriodicTimer(SnapshotTimer, SnapshotTick.Instance, _settings.SnapshotInterval);
    }

    /// <param name="moved">
    /// The snapshot is the hand-off snapshot of a move and the VM has not run since: nothing was lost. Else the VM restarts
    /// after a crash (of its node, or of the node it had moved to before its next snapshot) and its sessions are told.
    /// </param>
    private async Task RestoreAsync(VmSnapshot snapshot, bool moved)
    {
        VmState state;
        try
        {
            state = VmStatePacking.Unpack(snapshot.State);
            await StartVmAsync(state.Spec with { Name = _name }, state).ConfigureAwait(true);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            _log.Error(e, "VM {Vm}: its snapshot cannot be restored; the VM is not started", _name);
            return;
        }
        _keep = snapshot.Keep;
        // The snapshot's sessions as the journal changed them since: those of the VM when it stopped.
        foreach (var path in _offeredSessions)
        {
            var session = ((ExtendedActorSystem)Context.System).Provider.ResolveActorRef(path);
            if (!session.IsNobody())
            {
                AddSession(session);
            }
        }
        _dirty = false;
        var taken = DateTimeOffset.FromUnixTimeMilliseconds(snapshot.TakenAtUnixMs).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        if (moved)
        {
            _log.Info("VM {Vm} moved to {Node}: restored at virtual time {Ns} ns, nothing lost", _name, Node, state.VirtualTimeNs);
            // From now on the hand-off snapshot is behind the VM: a crash of this node before the next snapshot loses
            // what the VM does here, and the entity that then restores it must say so. The journal records that the VM
            // ran on (before any request is taken: a persisting actor holds them until this is written).
            Persist(new VmCheckpoint(state.VirtualTimeNs), _ => { });
            return;
        }
        _log.Warning("VM {Vm} restarted on {Node} from its snapshot of {Taken} (virtual time {Ns} ns): what it did after that is lost", _name, Node, taken, state.VirtualTimeNs);
        var notice = new SessionLine(
            ServiceResponse.LostPrefix + $"vm={_name} restarted on {Node} from its snapshot of {taken} at virtual time {state.VirtualTimeNs} ns; requests answered after that snapshot were lost");
        foreach (var session in _sessions.Keys)
        {
            session.Tell(notice);
        }
    }

    /// <summary>
    /// Saves the VM's state as a snapshot (after a checkpoint event, so each snapshot has its own sequence number).
    /// <para>
    /// A VM that does not answer within the request timeout (busy with a long request, or its threads taken by other
    /// work) is not a failure of the entity, which would bring the VM back from an earlier snapshot and lose what it did
    /// since: a snapshot on request is refused, and a timer's or the creation's is left to the next timer (the VM stays
    /// dirty). A hand-off snapshot is asked for again until the VM answers: the shard waits for its entities to stop,
    /// and stops any that has not after <c>akka.cluster.sharding.handoff-timeout</c>.
    /// </para>
    /// </summary>
    private async Task SnapshotAsync(bool handoff)
    {
        var vm = _vm!;
        VmState? state;
        while ((state = await TryTakeStateAsync(vm, handoff ? "its hand-off snapshot" : "a snapshot").ConfigureAwait(true)) is null)
        {
            if (!handoff)
            {
                AnswerSnapshotWaiters(DidNotAnswer + ": no snapshot was taken");
                AnswerCreatedWaiters();
                return;
            }
        }
        var packed = VmStatePacking.Pack(state);
        var self = Akka.Cluster.Cluster.Get(Context.System).SelfAddress;
        var sessions = _sessions.Keys.Select(SessionPath).ToArray();
        var snapshot = new VmSnapshot(_keep, handoff, sessions, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), packed);
        _dirty = false;
        _lastSaved = (state.VirtualTimeNs, packed.Length);
        Persist(new VmCheckpoint(state.VirtualTimeNs), _ =>
        {
            _savesPending++;
            if (handoff)
            {
                // The snapshot's sequence number is the checkpoint's.
                _handoffSnapshotNr = LastSequenceNr;
            }
            SaveSnapshot(snapshot);
        });
    }

    private void OnSnapshotSaved(SnapshotMetadata metadata)
    {
        if (_ending)
        {
            // The VM ended while it was being saved: the ending deletes this snapshot with the others, then stops.
            AnswerSnapshotWaiters(new SnapshotSaved(_name, _lastSaved.VirtualTimeNs, _lastSaved.Bytes));
            AnswerCreatedWaiters();
            return;
        }
        var oldest = metadata.SequenceNr - _settings.SnapshotsKept;
        if (oldest > 0)
        {
            DeleteSnapshots(new SnapshotSelectionCriteria(oldest));
        }
        DeleteMessages(metadata.SequenceNr);
        AnswerSnapshotWaiters(new SnapshotSaved(_name, _lastSaved.VirtualTimeNs, _lastSaved.Bytes));
        AnswerCreatedWaiters();
        if (IsHandoffSnapshot(metadata))
        {
            _log.Info("VM {Vm} handed off from {Node} at virtual time {Ns} ns ({Bytes} bytes)", _name, Node, _lastSaved.VirtualTimeNs, _lastSaved.Bytes);
            Context.Stop(Self);
        }
    }

    /// <summary>The VM's state, or null (and a warning) when the VM did not answer within the request timeout.</summary>
    private async Task<VmState?> TryTakeStateAsync(VmHandle vm, string what)
    {
        try
        {
            return await vm.SaveAsync().ConfigureAwait(true);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            _log.Warning("VM {Vm} did not answer within {Seconds} s when asked for {What}", _name, _settings.RequestTimeout.TotalSeconds, what);
            return null;
        }
    }

    private string DidNotAnswer => $"the VM did not answer within {_settings.RequestTimeout.TotalSeconds:0.#} s";

    /// <summary>Whether a save's answer is the hand-off snapshot's, after which the entity stops.</summary>
    private bool IsHandoffSnapshot(SnapshotMetadata metadata) => _handingOff && metadata.SequenceNr == _handoffSnapshotNr;

    /// <summary>Answers the creation of the VM, now that its first snapshot was saved (or could not be).</summary>
    private void AnswerCreatedWaiters()
    {
        foreach (var waiter in _createdWaiters)
        {
            waiter.Tell(Gone ? new VmRefused(_name, $"no VM named '{_name}'") : Ready());
        }
        _createdWaiters.Clear();
    }

    private void AnswerSnapshotWaiters(SnapshotSaved saved) => AnswerSnapshotWaiters((object)saved);

    private void AnswerSnapshotWaiters(string refusal) => AnswerSnapshotWaiters(new VmRefused(_name, refusal));

    private void AnswerSnapshotWaiters(object answer)
    {
        foreach (var waiter in _snapshotWaiters)
        {
            waiter.Tell(answer);
        }
        _snapshotWaiters.Clear();
    }

    private void Passivate()
    {
        if (_ending)
        {
            // Stops once its stored state is deleted (StopIfStoredStateDeleted), not before.
            return;
        }
        Timers.CancelAll();
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    /// <summary>Passes a vAPIC's interrupt notifications to a session's port as <c>IRQ raise</c> lines.</summary>
    private sealed record PortWatcher(IActorRef Port) : IInterruptWatcher
    {
        public void OnInterrupt(int vcpu, int vector) => Port.Tell(new SessionLine(ServiceResponse.Irq(vcpu, vector)));

        public void OnNotice(string line) => Port.Tell(new SessionLine(line));
    }

    private sealed class EndingTimedOut
    {
        public static readonly EndingTimedOut Instance = new();
    }

    private sealed class IdleCheck
    {
        public static readonly IdleCheck Instance = new();
    }

    private sealed class SnapshotTick
    {
        public static readonly SnapshotTick Instance = new();
    }
}
