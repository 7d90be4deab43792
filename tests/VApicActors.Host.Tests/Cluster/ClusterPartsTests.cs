using Akka.Actor;
using Akka.Configuration;
using VApicActors.Actors;
using VApicActors.Host.Cluster;
using VApicActors.Host.Cli;
using VApicActors.Host.Configuration;
using Xunit;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>The parts of cluster mode that need no cluster: settings, the serializer, the cluster table.</summary>
public sealed class ClusterPartsTests : IAsyncLifetime
{
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("parts", ConfigurationFactory.ParseString("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _system.Terminate();

    [Fact]
    public void TheDefaults_DescribeAOneMachineClusterOnPort4053()
    {
        var settings = ClusterSettings.Create(HoconSettings.LoadConfig());
        Assert.Equal(("127.0.0.1", 4053, 100), (settings.Hostname, settings.Port, settings.ShardCount));
        Assert.Equal(["akka.tcp://vapic@127.0.0.1:4053"], settings.SeedNodes);
        Assert.True(settings.HostsVms);
        Assert.Equal("SQLite.MS", settings.PersistenceProvider);
        var akka = settings.ToAkkaConfig();
        Assert.Equal("cluster", akka.GetString("akka.actor.provider"));
        Assert.Equal(4053, akka.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal("akka.persistence.snapshot-store.sql", akka.GetString("akka.persistence.snapshot-store.plugin"));
    }

    [Fact]
    public void NothingOfClusterMode_ReachesTheSingleMachineConfiguration()
    {
        var config = HoconSettings.LoadConfig();
        Assert.NotEqual("cluster", config.GetString("akka.actor.provider", "local"));
    }

    [Theory]
    [InlineData("port = 70000", "vapic.cluster.port")]
    [InlineData("seed-nodes = [\"http://x:1\"]", "vapic.cluster.seed-nodes")]
    [InlineData("seed-nodes = [\"akka.tcp://other@127.0.0.1:4053\"]", "vapic.cluster.seed-nodes")]
    [InlineData("roles = [\"a b\"]", "vapic.cluster.roles")]
    [InlineData("shard-count = 0", "vapic.cluster.shard-count")]
    [InlineData("snapshot-interval = fast", "vapic.cluster.snapshot-interval")]
    [InlineData("persistence.connection-string = \"\"", "vapic.cluster.persistence.connection-string")]
    [InlineData("persistence.provider-name = \"NoSuch\"", "vapic.cluster.persistence.provider-name")]
    [InlineData("persistence.provider-name = \"sqlite.ms\"", "vapic.cluster.persistence.provider-name")]
    [InlineData("persistence.provider-name = \"PostgreSQL.15\"", "vapic.cluster.persistence.provider-name")]
    public void ABadValue_IsRefusedNamingItsKey(string line, string key)
    {
        var config = ConfigurationFactory.ParseString("vapic.cluster { " + line + " }").WithFallback(HoconSettings.LoadConfig());
        var e = Assert.Throws<SettingsException>(() => ClusterSettings.Create(config));
        Assert.Equal(key, e.Key);
    }

    [Theory]
    [InlineData("NoSuch", "must be a persistence provider name (case matters), supported: SQLite.MS; got \"NoSuch\"")]
    [InlineData("PostgreSQL.15", "\"PostgreSQL.15\" needs a database client library that this build of vapic does not include (Cannot load assembly Npgsql)")]
    public void AnUnsupportedPersistenceProvider_IsRefusedSayingWhatIsSupported(string provider, string message)
    {
        var config = ConfigurationFactory.ParseString($"vapic.cluster.persistence.provider-name = \"{provider}\"").WithFallback(HoconSettings.LoadConfig());
        var e = Assert.Throws<SettingsException>(() => ClusterSettings.Create(config));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task ServeCluster_WithAnUnknownPersistenceProvider_IsRefusedAtStartWithExitTwo()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("bad.hocon", "vapic.cluster.persistence.provider-name = \"NoSuch\"\n");
        var output = new StringWriter();
        var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var code = await new VapicCommandLine(output, error).InvokeAsync(["serve", "--cluster", "--config", path, "--listen", "127.0.0.1:0"], timeout.Token);
        Assert.Equal(2, code);
        Assert.Contains("vapic.cluster.persistence.provider-name", error.ToString());
        Assert.DoesNotContain("   at ", error.ToString());
        Assert.DoesNotContain("serving", output.ToString());
    }

    [Fact]
    public async Task ServeCluster_OnAPortSomethingListensOn_IsRefusedInsteadOfSharingIt()
    {
        using var taken = new ListeningPort();
        var output = new StringWriter();
        var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var code = await new VapicCommandLine(output, error).InvokeAsync(
            ["serve", "--cluster", "--cluster-port", taken.Text, "--listen", "127.0.0.1:0"], timeout.Token);

        Assert.Equal(2, code);
        Assert.Equal($"vapic: cannot start a cluster node on 127.0.0.1:{taken.Port}: something already listens there"
            + " (another node? give this one another --cluster-port, or --cluster-port 0 for a free one)" + Environment.NewLine, error.ToString());
        Assert.Empty(output.ToString());
    }

    public static TheoryData<object> Messages()
    {
        var spec = new VmSpec("v", 3, true, [2u, 9u, 0x100u], false, 1_000_000, 2_000_000);
        return new TheoryData<object>
        {
            new CreateVm("v", spec, true, ActorRefs.Nobody),
            new CreateVm("w", new VmSpec("w", 1), false, ActorRefs.Nobody),
            new RunLine("v", ActorRefs.Nobody, 2, "writel 0xfee00080 0x20 -> OK"),
            new WatchVm("v", ActorRefs.Nobody, false, [0, 3]),
            new VmReady("v", 3, "127.0.0.1:4053", 0x100),
            new VmRefused("v", "no VM named 'v'"),
            new LineDone("OK 0x41", 1, 9),
            new SnapshotSaved("v", 42, 6906),
            new SessionLine("IRQ raise 1 0x41"),
            new VmCheckpoint(123),
            new GetVmState("v"),
        };
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void EveryClusterMessage_SurvivesItsSerializer(object message)
    {
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)_system);
        var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
        if (message is CreateVm create)
        {
            var copy = Assert.IsType<CreateVm>(back);
            Assert.Equal((create.Vm, create.Keep, create.Spec.VcpuCount, create.Spec.X2Apic, create.Spec.BootAll, create.Spec.TimerHz, create.Spec.TscHz),
                (copy.Vm, copy.Keep, copy.Spec.VcpuCount, copy.Spec.X2Apic, copy.Spec.BootAll, copy.Spec.TimerHz, copy.Spec.TscHz));
            Assert.Equal(create.Spec.ApicIds, copy.Spec.ApicIds);
            return;
        }
        if (message is WatchVm watch)
        {
            var copy = Assert.IsType<WatchVm>(back);
            Assert.Equal((watch.Vm, watch.All), (copy.Vm, copy.All));
            Assert.Equal(watch.Vcpus, copy.Vcpus);
            return;
        }
        if (message is RunLine run)
        {
            var copy = Assert.IsType<RunLine>(back);
            Assert.Equal((run.Vm, run.Cpu, run.Line), (copy.Vm, copy.Cpu, copy.Line));
            return;
        }
        Assert.Equal(message, back);
    }

    [Fact]
    public void AnActorReference_SurvivesTheSerializer()
    {
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)_system);
        var port = _system.ActorOf(Props.Empty, "port");
        var back = Assert.IsType<DetachVm>(serializer.FromBinary(serializer.ToBinary(new DetachVm("v", port)), "D"));
        Assert.Equal(port, back.Session);
    }

    [Fact]
    public async Task ASnapshot_SurvivesItsSerializer_AndItsStateUnpacks()
    {
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)_system);
        await using var vm = await VmHandle.CreateAsync(_system, new VmSpec("v", 2));
        await vm.StepClockAsync(5);
        var state = await vm.SaveAsync();
        var snapshot = new VmSnapshot(true, false, ["akka.tcp://vapic@127.0.0.1:4053/user/session-1"], 1_700_000_000_000, VmStatePacking.Pack(state));
        var back = Assert.IsType<VmSnapshot>(serializer.FromBinary(serializer.ToBinary(snapshot), serializer.Manifest(snapshot)));
        Assert.Equal((snapshot.Keep, snapshot.Handoff, snapshot.TakenAtUnixMs), (back.Keep, back.Handoff, back.TakenAtUnixMs));
        Assert.Equal(snapshot.Sessions, back.Sessions);
        Assert.Equal(snapshot.State, back.State);
        var unpacked = VmStatePacking.Unpack(back.State);
        Assert.Equal((5L, 2), (unpacked.VirtualTimeNs, unpacked.Apics.Length));
        Assert.Equal(state.Apics[1].Page.ToArray(), unpacked.Apics[1].Page.ToArray());
    }

    [Fact]
    public void ATruncatedMessage_IsAnErrorNotAGuess()
    {
        var serializer = new ClusterMessageSerializer((ExtendedActorSystem)_system);
        var bytes = serializer.ToBinary(new VmSnapshot(false, true, [], 1, new byte[100]));
        Assert.ThrowsAny<Exception>(() => serializer.FromBinary(bytes[..^10], "P"));
        Assert.ThrowsAny<Exception>(() => serializer.FromBinary(bytes, "nope"));
    }

    [Fact]
    public void TheClusterTable_OfOneNode_SaysOneMember()
    {
        var table = ClusterCommand.Render("self=127.0.0.1:4053 members=1 up=1 unreachable=0 nodes=127.0.0.1:4053:up shards=127.0.0.1:4053:1 vms=127.0.0.1:4053:1");
        Assert.Equal("Cluster seen from 127.0.0.1:4053: 1 member, 1 up, 0 unreachable", table.Split('\n')[0]);
    }

    [Fact]
    public void TheClusterTable_ListsEveryMemberWithItsShardsAndVms()
    {
        var table = ClusterCommand.Render(
            "self=127.0.0.1:4053 members=3 up=2 unreachable=1 nodes=127.0.0.1:4053:up,127.0.0.1:4054:up,127.0.0.1:4055:unreachable " +
            "shards=127.0.0.1:4053:3,127.0.0.1:4054:2 vms=127.0.0.1:4053:7,127.0.0.1:4054:1");
        var lines = table.TrimEnd('\n').Split('\n');
        Assert.Equal("Cluster seen from 127.0.0.1:4053: 3 members, 2 up, 1 unreachable", lines[0]);
        Assert.Equal(["127.0.0.1:4053", "up", "3", "7"], lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["127.0.0.1:4054", "up", "2", "1"], lines[3].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["127.0.0.1:4055", "unreachable", "0", "0"], lines[4].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
