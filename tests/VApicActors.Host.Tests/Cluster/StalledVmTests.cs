using Akka.Actor;
using Akka.Configuration;
using VApicActors.Actors;
using VApicActors.Host.Cluster;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Tests.Service;
using Xunit;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>
/// A VM that does not answer its entity within the request timeout (busy with a long request, or its threads taken by
/// other work) while the entity takes a snapshot: the entity stays up and the VM loses nothing. The VM is stalled by
/// giving the VMs' dispatcher one thread and keeping that thread busy.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StalledVmTests
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A one-node cluster whose VMs' dispatcher has one thread, with a session that created <paramref name="vm"/> (2 vCPUs, kept)
    /// and stepped its clock to <paramref name="clock"/> ns, and the VM's entity.
    /// </summary>
    private static async Task<(TestCluster Cluster, TestNode Node, LineClient Client, IActorRef Entity)> StartAsync(
        TimeSpan snapshotInterval, string vm, long clock)
    {
        var cluster = await TestCluster.StartAsync(
            1,
            snapshotInterval,
            ConfigurationFactory.ParseString(VcpuDispatcher.Id + ".vcpu-executor.threads = 1"),
            RequestTimeout);
        var node = cluster.Nodes[0];
        var client = await LineClient.ConnectAsync(node.StartService().LocalEndpoint);
        client.Timeout = Slow;
        // (On a busy machine, or while the process warms up, the short request timeout can pass before the VM's actors
        // start, which refuses the creation, or before its creation is stored, when the VM, kept, is there once it is.)
        var deadline = DateTime.UtcNow + Slow;
        while (await client.RequestAsync($"vm name={vm} keep=yes vcpus=2") is var created && created != "OK")
        {
            Assert.True(created is not null && created.Contains("within", StringComparison.Ordinal) && DateTime.UtcNow < deadline, created);
            if (created.StartsWith($"ERR the VM '{vm}' did not answer", StringComparison.Ordinal)
                && await client.RequestAsync("attach " + vm) == "OK")
            {
                break;
            }
        }
        Assert.Equal($"OK {clock}", await client.RequestAsync($"clock_step {clock}"));
        return (cluster, node, client, await ClusterTests.EntityAsync(node, vm));
    }

    /// <summary>
    /// Sends <paramref name="line"/> until it is answered <paramref name="expected"/>: an answer that the VM gave none within
    /// the short request timeout, on a busy machine, is tried again. Lines that leave nothing changed when they time out only.
    /// </summary>
    private static async Task PatientlyAsync(LineClient client, string line, string expected, List<string>? lines = null)
    {
        var deadline = DateTime.UtcNow + Slow;
        while (true)
        {
            var answer = await client.RequestAsync(line, lines);
            if (answer == expected)
            {
                return;
            }
            Assert.True(answer is not null && answer.Contains("did not answer within", StringComparison.Ordinal) && DateTime.UtcNow < deadline,
                $"'{line}' was answered '{answer}'");
        }
    }

    [Fact]
    public async Task ASnapshotTheStalledVmDoesNotAnswer_IsRefusedAndTriedAgain_WithoutRestartingTheVm()
    {
        var (cluster, node, client, entity) = await StartAsync(TimeSpan.FromMilliseconds(100), "stalled", 500);
        await using var _ = cluster;
        await using var __ = client;

        await using (await Stall.StartAsync(node.System))
        {
            // Timer snapshots come due every 100 ms meanwhile, and each waits for the VM for the request timeout.
            var refused = Assert.IsType<VmRefused>(await entity.Ask<object>(new SnapshotVm("stalled"), Slow));
            Assert.Equal("the VM did not answer within 2 s: no snapshot was taken", refused.Reason);
            // So are its state for another node, and interrupt lines for a session.
            Assert.Equal("the VM did not answer within 2 s", Assert.IsType<VmRefused>(await entity.Ask<object>(new GetVmState("stalled"), Slow)).Reason);
            var watch = await entity.Ask<object>(new WatchVm("stalled", node.System.DeadLetters, true, []), Slow);
            Assert.Equal("the VM did not answer within 2 s", Assert.IsType<VmRefused>(watch).Reason);
            await Task.Delay(RequestTimeout);
        }

        // The VM went on where it was (an entity that failed would have come back from an earlier snapshot and said so
        // with a LOST line), and it is saved again once it answers.
        var lines = new List<string>();
        await PatientlyAsync(client, "clock", "OK 500", lines);
        Assert.Empty(lines);
        var saved = Assert.IsType<SnapshotSaved>(await entity.Ask<object>(new SnapshotVm("stalled"), Slow));
        Assert.Equal(500, saved.VirtualTimeNs);
    }

    [Fact]
    public async Task AHandOffWhileTheVmDoesNotAnswer_WaitsForIt_AndTheNextEntityContinuesWithNothingLost()
    {
        var (cluster, node, client, entity) = await StartAsync(TimeSpan.FromMinutes(10), "moving", 700);
        await using var _ = cluster;
        await using var __ = client;
        var stopped = entity.WatchAsync();

        await using (await Stall.StartAsync(node.System))
        {
            // The shard's stop message to its entities; the hand-off snapshot's first attempts get no answer.
            entity.Tell(HandOffVm.Instance);
            await Task.Delay(RequestTimeout * 1.5);
            Assert.False(stopped.IsCompleted);
        }
        await stopped.WaitAsync(Slow);
        await ClusterTests.ShardForgetsAsync(node, entity);

        // The entity that starts for the name next restores the hand-off snapshot: the VM as it was, and no LOST line.
        var lines = new List<string>();
        await PatientlyAsync(client, "attach moving", "OK", lines);
        await PatientlyAsync(client, "clock", "OK 700", lines);
        Assert.Empty(lines);
    }

    [Fact]
    public async Task AVmWhoseActorsDoNotStartWithinTheRequestTimeout_IsRefusedCleanly_AndTheNameIsFreeAgain()
    {
        var (cluster, node, client, _) = await StartAsync(TimeSpan.FromMinutes(10), "first", 100);
        await using var _ = cluster;
        await using var __ = client;

        await using (await Stall.StartAsync(node.System))
        {
            // The entity failed with the timeout, came back and sat there; the creation had no answer.
            var refused = await node.Shards.Region.Ask<object>(
                new CreateVm("late", ScenarioSession.DefaultSpec("late") with { VcpuCount = 2 }, true, node.System.DeadLetters), Slow);
            Assert.Equal("vm: the VM's actors did not start within 2 s; try again", Assert.IsType<VmRefused>(refused).Reason);
        }

        await PatientlyAsync(client, "vm name=late vcpus=2", "OK");
        Assert.Equal("OK 0", await client.RequestAsync("clock"));
    }

    /// <summary>Keeps the only thread of the VMs' dispatcher busy until disposed, so that no VM actor runs meanwhile.</summary>
    private sealed class Stall : IAsyncDisposable
    {
        private readonly ManualResetEventSlim _release = new();

        private Stall()
        {
        }

        public static async Task<Stall> StartAsync(ActorSystem system)
        {
            var stall = new Stall();
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var actor = system.ActorOf(Props.Create(() => new StallActor()).WithDispatcher(VcpuDispatcher.Use(system)));
            actor.Tell(new Hold(started, stall._release));
            await started.Task.WaitAsync(Slow);
            return stall;
        }

        public ValueTask DisposeAsync()
        {
            _release.Set();
            return ValueTask.CompletedTask;
        }
    }

    private sealed record Hold(TaskCompletionSource Started, ManualResetEventSlim Release);

    private sealed class StallActor : ReceiveActor
    {
        public StallActor() => Receive<Hold>(h =>
        {
            h.Started.SetResult();
            h.Release.Wait(Slow);
        });
    }
}
