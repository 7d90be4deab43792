using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Host.Cluster;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tests.Service;
using Xunit;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>Several nodes on loopback in this process: VMs as sharded entities, driven from any node, moved and recovered with their state.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTests
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(60);

    /// <summary>A session on a cluster node's service, patient enough for a loaded machine.</summary>
    private static async Task<LineClient> ConnectAsync(System.Net.IPEndPoint endpoint)
    {
        var client = await LineClient.ConnectAsync(endpoint);
        client.Timeout = Slow;
        return client;
    }

    /// <summary>Creates <c>vm name=PREFIX-N ...</c> from <paramref name="client"/> until one lands on <paramref name="host"/>; returns its name.</summary>
    private static async Task<string> CreateVmOnAsync(LineClient client, TestNode via, TestNode host, string prefix, string options)
    {
        for (var i = 0; i < 64; i++)
        {
            var name = $"{prefix}-{i}";
            Assert.Equal("OK", await client.RequestAsync($"vm name={name} keep=yes {options}"));
            if (await via.Shards.LocateAsync(name) == host.Endpoint)
            {
                return name;
            }
        }
        throw new InvalidOperationException("no VM landed on " + host.Endpoint);
    }

    [Fact]
    public async Task ASessionOnOneNode_DrivesAVmHostedOnAnother()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var service = a.StartService();
        await using var client = await ConnectAsync(service.LocalEndpoint);

        var vm = await CreateVmOnAsync(client, a, b, "far", "vcpus=2");
        Assert.Equal(b.Endpoint, await a.Shards.LocateAsync(vm));

        // The same answers as on one machine: registers, a fixed IPI, interrupt lines, the virtual clock.
        Assert.Equal("OK 0x1060014", await client.RequestAsync("readl 0xfee00030"));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee000f0 0x1ff"));
        Assert.Equal("OK", await client.RequestAsync("cpu 1"));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee000f0 0x1ff"));
        Assert.Equal("OK", await client.RequestAsync("watch"));
        Assert.Equal("OK", await client.RequestAsync("cpu 0"));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00310 0x01000000"));
        var interrupts = new List<string>();
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00300 0x4041", interrupts));
        Assert.Equal("OK", await client.RequestAsync("cpu 1", interrupts));
        Assert.Equal("OK 0x41", await client.RequestAsync("irr", interrupts));
        Assert.Equal("OK 0x41", await client.RequestAsync("ack", interrupts));
        Assert.Equal("OK", await client.RequestAsync("eoi", interrupts));
        Assert.Equal("OK none", await client.RequestAsync("isr", interrupts));
        if (!interrupts.Contains("IRQ raise 1 0x41"))
        {
            interrupts.Add(await client.WaitForLineAsync(l => l.StartsWith("IRQ ", StringComparison.Ordinal)));
        }
        Assert.Contains("IRQ raise 1 0x41", interrupts);
        Assert.Equal("#GP", await client.RequestAsync("rdmsr 0x802"));
        Assert.Equal("OK 250", await client.RequestAsync("clock_step 250"));
        Assert.Equal("OK", await client.RequestAsync("readl 0xfee00080 -> 0"));
        Assert.Equal("ERR expected 1, got 0x0", await client.RequestAsync("readl 0xfee00080 -> 1"));

        // A second node's session joins the same VM by name; the cluster view counts both nodes.
        var cluster2 = b.StartService();
        await using var other = await ConnectAsync(cluster2.LocalEndpoint);
        Assert.Equal("OK", await other.RequestAsync("attach " + vm));
        Assert.Equal("OK 250", await other.RequestAsync("clock"));
        // stats counts the VMs this node hosts: the one VM that landed on B.
        Assert.StartsWith("OK sessions=1 vms=1 vcpus=2 ", await other.RequestAsync("stats"));
        var view = await client.RequestAsync("cluster");
        Assert.StartsWith("OK self=" + a.Endpoint + " members=2 up=2 unreachable=0", view);
        Assert.Contains(b.Endpoint + ":", view!.Split(" vms=")[1]);
        Assert.Equal("ERR no VM named 'nowhere'", await client.RequestAsync("attach nowhere"));
    }

    [Fact]
    public async Task ATracedRequest_NamesTheSelectedVcpusApicId()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var sink = new VApicActors.Actors.Tests.RecordingTraceSink();
        var service = cluster.Nodes[0].StartService(sink);
        await using var client = await ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm name=traced vcpus=2 apic-ids=4,6"));
        Assert.Equal("OK 0x4000000", await client.RequestAsync("readl 0xfee00020"));
        Assert.Equal("OK", await client.RequestAsync("cpu 1"));
        Assert.Equal("OK 0x6000000", await client.RequestAsync("readl 0xfee00020"));

        var requests = sink.Named("ServiceRequest");
        Assert.Equal(["vm", "readl", "cpu", "readl"], requests.Select(r => r.Detail!.Split('"')[1].Split(' ')[0]));
        // Each request is traced once answered, with the initial APIC ID of the vCPU selected then (vm selects vCPU 0).
        Assert.Equal([4u, 4u, 6u, 6u], requests.Select(r => r.ApicId));
        Assert.All(requests, r => Assert.Equal("traced", r.Vm));
    }

    [Fact]
    public async Task ARefusedAttach_LeavesTheSessionOnItsVm_AndAttachingToItsOwnVmKeepsIt()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var service = cluster.Nodes[0].StartService();
        await using var client = await ConnectAsync(service.LocalEndpoint);
        await using var other = await ConnectAsync(service.LocalEndpoint);

        // As on one machine: a name that is no VM is refused and the session goes on with the VM it had.
        Assert.Equal("OK", await client.RequestAsync("vm name=mine vcpus=3"));
        Assert.Equal("OK 250", await client.RequestAsync("clock_step 250"));
        Assert.Equal("ERR no VM named 'nowhere'", await client.RequestAsync("attach nowhere"));
        Assert.Equal("OK", await client.RequestAsync("cpu 2"));
        Assert.Equal("OK 250", await client.RequestAsync("clock"));

        // Attaching to the VM it already drives (its only session) does not end it on the way: back at vCPU 0.
        Assert.Equal("OK", await client.RequestAsync("attach mine"));
        Assert.Equal("OK 0x0", await client.RequestAsync("readl 0xfee00020"));
        Assert.Equal("OK 250", await client.RequestAsync("clock"));

        // Another session's VM, then a refused attach there: it stays on it, and the first VM lives on with its session.
        Assert.Equal("OK", await other.RequestAsync("vm name=theirs vcpus=1"));
        Assert.Equal("OK", await other.RequestAsync("attach mine"));
        Assert.Equal("ERR no VM named 'theirs'", await client.RequestAsync("attach theirs"));
        Assert.Equal("ERR no VM named 'Mine'", await other.RequestAsync("attach Mine"));
        Assert.Equal("OK", await other.RequestAsync("cpu 2"));
        Assert.Equal("OK 250", await other.RequestAsync("clock"));
    }

    [Fact]
    public async Task AVmWhoseLastSessionLeft_IsNoVmAtOnce_AndItsNameMakesAFreshVmAtOnce()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var service = cluster.Nodes[0].StartService();
        await using var client = await ConnectAsync(service.LocalEndpoint);
        await using var other = await ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm name=mine vcpus=1"));

        for (var i = 0; i < 8; i++)
        {
            // Each time a new VM of the name, while the last one may still be deleting its stored state: never that one.
            Assert.Equal("OK", await other.RequestAsync("vm name=again vcpus=2"));
            Assert.Equal("OK 0", await other.RequestAsync("clock"));
            Assert.Equal("OK 100", await other.RequestAsync("clock_step 100"));

            // Leaving it ends it: from the answer on, no session can attach to it, even while it is still stopping.
            Assert.Equal("OK", await other.RequestAsync("attach mine"));
            Assert.Equal("ERR no VM named 'again'", await client.RequestAsync("attach again"));
            Assert.Equal("OK 0x0", await client.RequestAsync("readl 0xfee00020"));
        }
    }

    [Fact]
    public async Task AVmThatEndsWhileItsSnapshotIsStillBeingSaved_LeavesNothingToComeBackFrom()
    {
        // A store that takes its time over every save, and a snapshot every 100 ms while the VM changes: the snapshot
        // taken after the clock step is still being written when the VM's only session leaves it.
        await using var cluster = await TestCluster.StartAsync(1, TimeSpan.FromMilliseconds(100), SlowSnapshotStore.Settings(TimeSpan.FromMilliseconds(500)));
        var service = cluster.Nodes[0].StartService();
        await using var client = await ConnectAsync(service.LocalEndpoint);
        await using var other = await ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm name=mine vcpus=1"));
        Assert.Equal("OK", await other.RequestAsync("vm name=brief vcpus=2"));
        Assert.Equal("OK 100", await other.RequestAsync("clock_step 100"));
        await Task.Delay(250);
        Assert.Equal("OK", await other.RequestAsync("attach mine"));

        // No VM from the answer on: not while its entity ends, nor once the save has been written and the entity has stopped.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (DateTime.UtcNow < until)
        {
            Assert.Equal("ERR no VM named 'brief'", await client.RequestAsync("attach brief"));
            await Task.Delay(100);
        }
        Assert.Equal("OK", await other.RequestAsync("vm name=brief vcpus=2"));
        Assert.Equal("OK 0", await other.RequestAsync("clock"));
    }

    [Fact]
    public async Task AVmsCreation_IsAnsweredOnceTheStoreHoldsIt_SoACrashFromThenOnBringsItBack()
    {
        await using var cluster = await TestCluster.StartAsync(1, extra: SlowSnapshotStore.Settings(TimeSpan.FromMilliseconds(500)));
        var node = cluster.Nodes[0];
        await using var client = await ConnectAsync(node.StartService().LocalEndpoint);

        Assert.Equal("OK", await client.RequestAsync("vm name=durable vcpus=2"));

        var store = Akka.Persistence.Persistence.Instance.Apply(node.System).SnapshotStoreFor(null);
        var loaded = await store.Ask<Akka.Persistence.LoadSnapshotResult>(
            new Akka.Persistence.LoadSnapshot("vm-durable", Akka.Persistence.SnapshotSelectionCriteria.Latest, long.MaxValue), Slow);
        Assert.NotNull(loaded.Snapshot);
    }

    [Fact]
    public async Task AVmThatDoesNotAnswer_IsTheOneNamed_NotTheSessionsCurrentVm()
    {
        // The store holds every save from here on, so a new VM's creation (answered once its first snapshot is stored)
        // gets no answer within the request timeout. The session had left its VM for it: the error named no VM ('').
        await using var cluster = await TestCluster.StartAsync(1, extra: SlowSnapshotStore.Settings(TimeSpan.Zero), requestTimeout: TimeSpan.FromSeconds(1));
        var node = cluster.Nodes[0];
        await using var client = await ConnectAsync(node.StartService().LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm name=mine vcpus=1"));
        Assert.True(await SnapshotStore(node).Ask<bool>(new HoldSaves(), Slow));

        Assert.Equal("ERR the VM 'held' did not answer within 1 s (is a node hosting VMs up?)", await client.RequestAsync("vm name=held vcpus=1"));
        Assert.Single(await HeldSavesAsync(node, "vm-held", 1));
    }

    [Fact]
    public async Task AHandOffWhileAnEndedVmsStoredStateIsStillToBeDeleted_StopsTheEntityOnlyOnceItIsDeleted()
    {
        await using var cluster = await TestCluster.StartAsync(1, extra: SlowSnapshotStore.Settings(TimeSpan.Zero));
        var node = cluster.Nodes[0];
        var store = SnapshotStore(node);
        var service = node.StartService();
        await using var client = await ConnectAsync(service.LocalEndpoint);
        await using var other = await ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm name=mine vcpus=1"));
        Assert.Equal("OK", await other.RequestAsync("vm name=brief vcpus=2"));
        Assert.Equal("OK 100", await other.RequestAsync("clock_step 100"));

        // A snapshot of the VM that the store holds, and its only session leaves: the VM ends, and the deletion of its
        // stored state waits for that save.
        Assert.True(await store.Ask<bool>(new HoldSaves(), Slow));
        var saved = node.Shards.AskAsync(new SnapshotVm("brief"));
        var held = Assert.Single(await HeldSavesAsync(node, "vm-brief", 1));
        Assert.Equal("OK", await other.RequestAsync("attach mine"));

        // Its shard is handed off meanwhile (the shard's stop message to its entities), then the store finishes the save.
        var entity = await EntityAsync(node, "brief");
        var stopped = entity.WatchAsync();
        entity.Tell(HandOffVm.Instance);
        Assert.True(await store.Ask<bool>(new ReleaseSave(held.Metadata.PersistenceId, held.Metadata.SequenceNr), Slow));
        await stopped.WaitAsync(Slow);
        // In a real hand-off the shard stops with its entities; here it goes on, and a request it took before it heard
        // of the stop would go to the stopped entity and get no answer.
        await ShardForgetsAsync(node, entity);

        // The entity that starts for the name next (on the shard's new node) finds nothing to bring the VM back from,
        // and the snapshot's requester was answered.
        Assert.Equal("ERR no VM named 'brief'", await client.RequestAsync("attach brief"));
        Assert.IsType<SnapshotSaved>(await saved);
    }

    [Fact]
    public async Task AHandOffWhileTheVmsCreationIsStillBeingSaved_AnswersTheCreation_AndStopsOnlyOnceTheHandOffSnapshotIsStored()
    {
        await using var cluster = await TestCluster.StartAsync(1, extra: SlowSnapshotStore.Settings(TimeSpan.Zero));
        var node = cluster.Nodes[0];
        var store = SnapshotStore(node);
        await using var client = await ConnectAsync(node.StartService().LocalEndpoint);

        // The shard is handed off as soon as the VM's entity is there: while the VM starts, or while the store holds the
        // creation's snapshot.
        Assert.True(await store.Ask<bool>(new HoldSaves(), Slow));
        var created = client.RequestAsync("vm name=moving keep=yes vcpus=2");
        var entity = await EntityAsync(node, "moving");
        var stopped = entity.WatchAsync();
        entity.Tell(HandOffVm.Instance);
        var saves = await HeldSavesAsync(node, "vm-moving", 2);
        var (creation, handoff) = (saves[0], saves[1]);
        Assert.False(Assert.IsType<VmSnapshot>(creation.Snapshot).Handoff);
        Assert.True(Assert.IsType<VmSnapshot>(handoff.Snapshot).Handoff);

        // The creation's snapshot is stored first: the creation is answered, and the entity goes on waiting for the
        // hand-off snapshot, the one the entity on the shard's new node must find.
        Assert.True(await store.Ask<bool>(new ReleaseSave(creation.Metadata.PersistenceId, creation.Metadata.SequenceNr), Slow));
        Assert.Equal("OK", await created);
        var stoppedEarly = await Task.WhenAny(stopped, Task.Delay(TimeSpan.FromSeconds(3))) == stopped;
        Assert.False(stoppedEarly, "the entity stopped before its hand-off snapshot was stored");

        Assert.True(await store.Ask<bool>(new ReleaseSave(handoff.Metadata.PersistenceId, handoff.Metadata.SequenceNr), Slow));
        await stopped.WaitAsync(Slow);
        var loaded = await store.Ask<Akka.Persistence.LoadSnapshotResult>(
            new Akka.Persistence.LoadSnapshot("vm-moving", Akka.Persistence.SnapshotSelectionCriteria.Latest, long.MaxValue), Slow);
        Assert.Equal(handoff.Metadata.SequenceNr, loaded.Snapshot?.Metadata.SequenceNr);
    }

    [Fact]
    public async Task AnEntityStartedWithNoRequest_ForANameWithNothingStored_Passivates()
    {
        // How a shard brings back the entities it remembers on its new node: with no request. An ended VM's entity that a
        // hand-off stopped before it could passivate is remembered; it found nothing to restore and sat idle for good.
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Nodes[0];
        // (Answered once the shard has started it; it may be gone again by the time anyone looks for it.)
        await node.Shards.Region.Ask<object>(new Akka.Cluster.Sharding.ShardRegion.StartEntity("ghost"), Slow);
        await ShardForgetsAsync(node, "ghost");

        // A name in use is not touched: a VM created, and one asked for by a session, stay.
        await using var client = await ConnectAsync(node.StartService().LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm name=real vcpus=1"));
        Assert.Equal("OK 0", await client.RequestAsync("clock"));
    }

    /// <summary>Waits until the shard of <paramref name="entity"/>, which has stopped, no longer counts it among its entities.</summary>
    internal static Task ShardForgetsAsync(TestNode node, IActorRef entity) => ShardForgetsAsync(node, entity.Path.Name);

    /// <summary>Waits until no shard of <paramref name="node"/> counts the entity named <paramref name="name"/> among its entities.</summary>
    internal static async Task ShardForgetsAsync(TestNode node, string name)
    {
        var deadline = DateTime.UtcNow + Slow;
        while (true)
        {
            var state = await node.Shards.Region.Ask<Akka.Cluster.Sharding.CurrentShardRegionState>(Akka.Cluster.Sharding.GetShardRegionState.Instance, Slow);
            if (!state.Shards.Any(s => s.EntityIds.Contains(name)))
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the shard still counts {name} among its entities");
            await Task.Delay(20);
        }
    }

    private static IActorRef SnapshotStore(TestNode node) => Akka.Persistence.Persistence.Instance.Apply(node.System).SnapshotStoreFor(null);

    /// <summary>Waits until the node's <see cref="SlowSnapshotStore"/> holds at least <paramref name="count"/> saves of <paramref name="persistenceId"/>.</summary>
    private static async Task<HeldSave[]> HeldSavesAsync(TestNode node, string persistenceId, int count)
    {
        var deadline = DateTime.UtcNow + Slow;
        while (true)
        {
            var held = (await SnapshotStore(node).Ask<HeldSave[]>(new HeldSaves(), Slow)).Where(h => h.Metadata.PersistenceId == persistenceId).ToArray();
            if (held.Length >= count)
            {
                return held;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the store held {held.Length} saves of {persistenceId}, not {count}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>The entity of VM <paramref name="vm"/> on <paramref name="node"/>, once it is there.</summary>
    internal static async Task<IActorRef> EntityAsync(TestNode node, string vm)
    {
        var selection = node.System.ActorSelection($"/system/sharding/{VmEntity.TypeName}/*/{vm}");
        var deadline = DateTime.UtcNow + Slow;
        while (true)
        {
            try
            {
                return await selection.ResolveOne(TimeSpan.FromSeconds(1));
            }
            catch (ActorNotFoundException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    [Fact]
    public async Task TheServicesVmLimits_ApplyToTheVmsCreatedOnItsNode_AndSessionsOwnVmsCannotBeAttached()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var sink = new VApicActors.Actors.Tests.RecordingTraceSink();
        var service = cluster.Nodes[0].StartService(sink, s => s with { MaxVcpus = 4, MaxNamedVms = 1 });
        await using var client = await ConnectAsync(service.LocalEndpoint);
        await using var other = await ConnectAsync(service.LocalEndpoint);

        Assert.Equal("OK", await client.RequestAsync("vm name=one keep=yes vcpus=2"));
        Assert.Equal("ERR too many named VMs on the node that would host it (at most 1)", await other.RequestAsync("vm name=two vcpus=1"));
        Assert.Equal("OK", await other.RequestAsync("vm vcpus=2"));
        Assert.Equal("ERR vm: the node that would host it runs 4 vCPUs; 1 more would pass its limit of 4", await client.RequestAsync("vm vcpus=1"));
        Assert.StartsWith("OK sessions=2 vms=2 vcpus=4 ", await client.RequestAsync("stats"));

        // A VM that ends gives its share back.
        Assert.Equal("OK", await other.RequestAsync("attach one"));
        Assert.Equal("OK", await client.RequestAsync("vm vcpus=2"));
        Assert.StartsWith("OK sessions=2 vms=2 vcpus=4 ", await client.RequestAsync("stats"));

        // A session's own VM has a name that no 'vm name=' or 'attach' accepts: no other session can reach it.
        var own = sink.Named("ServiceRequest").Last(r => r.Detail!.Contains("request=\"vm vcpus=2\"", StringComparison.Ordinal)).Vm;
        Assert.Contains('.', own);
        Assert.StartsWith($"ERR bad VM name '{own}'", await other.RequestAsync("attach " + own));
    }

    /// <summary>The VM's complete state as the save/restore document, and the node it was taken on.</summary>
    private static async Task<(string Json, string Node)> StateAsync(TestNode via, string vm)
    {
        var taken = Assert.IsType<VmStateTaken>(await via.Shards.AskAsync(new GetVmState(vm)));
        return (VmStateFile.ToJson(VmStatePacking.Unpack(taken.State)), taken.Node);
    }

    /// <summary>Puts a 2-vCPU VM in a state with something everywhere: TPR, an IPI pending, a periodic timer, time.</summary>
    private static async Task DriveAsync(LineClient client, int salt)
    {
        foreach (var line in new[]
        {
            "cpu 0", "writel 0xfee000f0 0x1ff", $"writel 0xfee00080 0x{0x10 + salt:x}",
            "cpu 1", "writel 0xfee000f0 0x1ff", "writel 0xfee003e0 0xb", "writel 0xfee00320 0x20051", "writel 0xfee00380 0x1000",
            "cpu 0", "writel 0xfee00310 0x01000000", $"writel 0xfee00300 0x40{0x60 + salt:x}", $"clock_step {1000 + salt}",
        })
        {
            Assert.Equal("OK", (await client.RequestAsync(line))![..2]);
        }
    }

    [Fact]
    public async Task AGracefulLeave_MovesEveryVmWithItsStateIntact()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var service = a.StartService();
        await using var client = await ConnectAsync(service.LocalEndpoint);

        var moving = new List<string>();
        for (var salt = 0; moving.Count < 2; salt++)
        {
            var vm = await CreateVmOnAsync(client, a, b, $"mover{salt}", "vcpus=2");
            await DriveAsync(client, salt);
            moving.Add(vm);
        }
        var before = new Dictionary<string, (string Json, string Irr)>();
        foreach (var vm in moving)
        {
            var (json, node) = await StateAsync(a, vm);
            Assert.Equal(b.Endpoint, node);
            Assert.Equal("OK", await client.RequestAsync("attach " + vm));
            Assert.Equal("OK", await client.RequestAsync("cpu 1"));
            before[vm] = (json, (await client.RequestAsync("irr"))!);
            Assert.Contains("0x6", before[vm].Irr);
        }

        await b.LeaveAsync();
        await cluster.WaitForUpAsync(1);

        var interrupts = new List<string>();
        foreach (var vm in moving)
        {
            var (json, node) = await StateAsync(a, vm);
            Assert.Equal(a.Endpoint, node);
            Assert.Equal(before[vm].Json, json);
            // The session drives the moved VM on as if nothing happened; its periodic timer runs on virtual time.
            Assert.Equal("OK", await client.RequestAsync("attach " + vm, interrupts));
            Assert.Equal("OK", await client.RequestAsync("cpu 1", interrupts));
            Assert.Equal(before[vm].Irr, await client.RequestAsync("irr", interrupts));
            Assert.Equal("OK", (await client.RequestAsync("clock_step 100000000", interrupts))![..2]);
            Assert.Contains("0x51", await client.RequestAsync("irr", interrupts));
        }
        Assert.DoesNotContain(interrupts, l => l.StartsWith("LOST ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AKilledNode_ItsVmsComeBackElsewhereByThemselvesFromTheirLastSnapshot_AndTheSessionIsTold()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        var (a, c) = (cluster.Nodes[0], cluster.Nodes[2]);
        var service = a.StartService();
        await using var client = await ConnectAsync(service.LocalEndpoint);

        var vm = await CreateVmOnAsync(client, a, c, "doomed", "vcpus=2");
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00080 0x20"));
        var saved = Assert.IsType<SnapshotSaved>(await a.Shards.AskAsync(new SnapshotVm(vm)));
        Assert.True(saved.Bytes > 0);
        var (snapshotJson, _) = await StateAsync(a, vm);
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00080 0x30"));
        Assert.Equal("OK 0x30", await client.RequestAsync("readl 0xfee00080"));

        await c.CrashAsync();
        await cluster.WaitForUpAsync(2);

        // The VM comes back on a surviving node by itself (its shard remembers it), as it was at its snapshot,
        // and tells the session before the session asks anything.
        var lost = await client.WaitForLineAsync(l => l.StartsWith("LOST ", StringComparison.Ordinal));
        Assert.Equal("OK 0x20", await client.RequestAsync("readl 0xfee00080"));
        var (json, node) = await StateAsync(a, vm);
        Assert.NotEqual(c.Endpoint, node);
        Assert.Equal(snapshotJson, json);
        Assert.StartsWith($"LOST vm={vm} restarted on {node} from its snapshot of ", lost);
    }

    [Fact]
    public async Task AVmThatMoved_AndThenLostItsNewNode_TellsItsSessionsWhatWasLost()
    {
        // The hand-off snapshot is the moved VM's last one until the next timer's: a crash of its new node before that
        // restarts it from the hand-off snapshot, and what it did on the new node is lost as after any crash.
        await using var cluster = await TestCluster.StartAsync(4);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        await using var creator = await ConnectAsync(a.StartService().LocalEndpoint);
        var vm = await CreateVmOnAsync(creator, a, b, "twice", "vcpus=1");
        Assert.Equal("OK", await creator.RequestAsync("writel 0xfee00080 0x20"));
        var survivors = new[] { a, cluster.Nodes[2], cluster.Nodes[3] };
        // Sessions of this VM only (the creator was a session of the VMs it made before) on the two other nodes.
        var sessions = new Dictionary<TestNode, LineClient>();
        foreach (var node in survivors.Skip(1))
        {
            sessions[node] = await ConnectAsync(node.StartService().LocalEndpoint);
            Assert.Equal("OK", await sessions[node].RequestAsync("attach " + vm));
        }

        await b.LeaveAsync();
        await cluster.WaitForUpAsync(3);
        var moved = (await StateAsync(a, vm)).Node;
        var host = survivors.Single(n => n.Endpoint == moved);
        var client = sessions[survivors.Skip(1).First(n => n != host)];
        Assert.Equal("OK 0x20", await client.RequestAsync("readl 0xfee00080"));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00080 0x30"));

        await host.CrashAsync();
        await cluster.WaitForUpAsync(2);

        var lost = await client.WaitForLineAsync(l => l.StartsWith("LOST ", StringComparison.Ordinal));
        Assert.StartsWith($"LOST vm={vm} restarted on ", lost);
        Assert.Equal("OK 0x20", await client.RequestAsync("readl 0xfee00080"));
        foreach (var session in sessions.Values)
        {
            await session.DisposeAsync();
        }
    }

    [Fact]
    public async Task AfterACrash_TheSessionsToldAreThoseOfTheVmWhenItWasLost_NotThoseOfItsSnapshot()
    {
        // Sessions join and leave between snapshots: the one that joined is told what was lost, the one that left is not.
        await using var cluster = await TestCluster.StartAsync(3);
        var (a, b, c) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        await using var leaver = await ConnectAsync(a.StartService().LocalEndpoint);
        var vm = await CreateVmOnAsync(leaver, a, c, "joined", "vcpus=1");
        await using var joiner = await ConnectAsync(b.StartService().LocalEndpoint);
        Assert.Equal("OK", await joiner.RequestAsync("attach " + vm));
        Assert.Equal("OK", await leaver.RequestAsync("vm vcpus=1"));

        await c.CrashAsync();
        await cluster.WaitForUpAsync(2);

        var lost = await joiner.WaitForLineAsync(l => l.StartsWith("LOST ", StringComparison.Ordinal));
        Assert.StartsWith($"LOST vm={vm} restarted on ", lost);
        var lines = new List<string>();
        Assert.Equal("OK 0", await leaver.RequestAsync("clock", lines));
        Assert.DoesNotContain(lines, l => l.StartsWith($"LOST vm={vm} ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NewNodes_TakeOverShards_AndTheMovedVmsKeepTheirState()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var a = cluster.Nodes[0];
        var service = a.StartService();
        await using var client = await ConnectAsync(service.LocalEndpoint);

        var before = new Dictionary<string, string>();
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal("OK", await client.RequestAsync($"vm name=spread{i} keep=yes vcpus=2"));
            await DriveAsync(client, i);
            before[$"spread{i}"] = (await StateAsync(a, $"spread{i}")).Json;
        }

        // The coordinator rebalances shards towards the new node: each moved VM hands off its state.
        var b = await cluster.AddNodeAsync();
        await cluster.WaitForUpAsync(2);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string[] moved = [];
        while (moved.Length == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            var located = await Task.WhenAll(before.Keys.Select(async vm => (vm, node: await a.Shards.LocateAsync(vm))));
            moved = [.. located.Where(l => l.node == b.Endpoint).Select(l => l.vm)];
        }
        Assert.NotEmpty(moved);
        foreach (var vm in before.Keys)
        {
            Assert.Equal(before[vm], (await StateAsync(a, vm)).Json);
        }
        Assert.Equal(b.Endpoint, (await StateAsync(a, moved[0])).Node);
    }

    [Fact]
    public async Task TheIntervalSnapshot_CatchesUpWithTheVm()
    {
        await using var cluster = await TestCluster.StartAsync(1, snapshotInterval: TimeSpan.FromSeconds(1));
        var a = cluster.Nodes[0];
        var service = a.StartService();
        await using var client = await ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm name=ticking keep=yes vcpus=2"));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00080 0x70"));
        Assert.Equal("OK 777", await client.RequestAsync("clock_step 777"));

        var store = Akka.Persistence.Persistence.Instance.Apply(a.System).SnapshotStoreFor(null);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        VmState? stored = null;
        while (stored?.VirtualTimeNs != 777 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            var result = await store.Ask<Akka.Persistence.LoadSnapshotResult>(
                new Akka.Persistence.LoadSnapshot("vm-ticking", Akka.Persistence.SnapshotSelectionCriteria.Latest, long.MaxValue), TimeSpan.FromSeconds(10));
            stored = result.Snapshot?.Snapshot is VmSnapshot snapshot ? VmStatePacking.Unpack(snapshot.State) : null;
        }
        Assert.NotNull(stored);
        Assert.Equal(777, stored.VirtualTimeNs);
        Assert.Equal(0x70, stored.Apics[0].Page[0x80]);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "cluster";
}
