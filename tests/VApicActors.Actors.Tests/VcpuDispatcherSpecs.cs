using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.TestKit.Xunit2;
using VApicActors.Registers;
using Xunit;
using Xunit.Abstractions;
using static VApicActors.Actors.Protocol.ApicProtocol;

namespace VApicActors.Actors.Tests;

/// <summary>The executor of the VM's actors on its own, without actors.</summary>
public sealed class VcpuExecutorSpecs
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>Counts its runs; optionally schedules a follow-up from inside its run, as an actor telling another does.</summary>
    private sealed class Work(Action run) : IRunnable
    {
        public void Run() => run();

        public void Execute() => Run();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void WorkScheduledFromManyThreads_RunsExactlyOnceEach(int threads)
    {
        var executor = new VcpuExecutor("test-executor", threads, 10);
        try
        {
            const int Producers = 4;
            const int PerProducer = 20_000;
            var runs = new int[Producers * PerProducer];
            var left = new CountdownEvent(runs.Length);
            Parallel.For(0, Producers, p =>
            {
                for (var i = 0; i < PerProducer; i++)
                {
                    var slot = p * PerProducer + i;
                    executor.Execute(new Work(() =>
                    {
                        Interlocked.Increment(ref runs[slot]);
                        left.Signal();
                    }));
                }
            });
            Assert.True(left.Wait(Patience), left.CurrentCount + " of " + runs.Length + " never ran");
            Assert.All(runs, r => Assert.Equal(1, r));
        }
        finally
        {
            executor.Shutdown();
        }
    }

    [Fact]
    public void WorkThatSchedulesWork_RunsEveryLinkOfItsChains_AndStaysOnTheExecutorsThreads()
    {
        var executor = new VcpuExecutor("test-chains", 2, 10);
        try
        {
            const int Chains = 8;
            const int Links = 20_000;
            var done = new CountdownEvent(Chains);
            var foreign = 0;
            for (var c = 0; c < Chains; c++)
            {
                var remaining = Links;
                Work? link = null;
                link = new Work(() =>
                {
                    if (Thread.CurrentThread.Name?.StartsWith("test-chains-", StringComparison.Ordinal) != true)
                    {
                        Interlocked.Increment(ref foreign);
                    }
                    if (--remaining == 0)
                    {
                        done.Signal();
                        return;
                    }
                    executor.Execute(link!);
                });
                executor.Execute(link);
            }
            Assert.True(done.Wait(Patience), done.CurrentCount + " chains did not finish");
            Assert.Equal(0, foreign);
        }
        finally
        {
            executor.Shutdown();
        }
    }

    [Fact]
    public void ThreadsThatWentToSleep_WakeForNewWork()
    {
        // No spinning: every thread goes to sleep as soon as it finds nothing.
        var executor = new VcpuExecutor("test-sleep", 2, 0);
        try
        {
            for (var round = 0; round < 20; round++)
            {
                Thread.Sleep(5);
                using var ran = new ManualResetEventSlim();
                executor.Execute(new Work(ran.Set));
                Assert.True(ran.Wait(Patience), "round " + round + " never ran");
            }
        }
        finally
        {
            executor.Shutdown();
        }
    }

    [Fact]
    public void AShutDownExecutor_RejectsWork()
    {
        var executor = new VcpuExecutor("test-shutdown", 1, 0);
        executor.Shutdown();
        Assert.Throws<RejectedExecutionException>(() => executor.Execute(new Work(() => { })));
    }

    [Theory]
    [InlineData("threads = -1", "threads")]
    [InlineData("threads = 5000", "threads")]
    [InlineData("spin-rounds = -3", "spin-rounds")]
    public void ABadSetting_IsRefusedNamingIt(string setting, string name)
    {
        var config = ConfigurationFactory.ParseString("vcpu-executor { " + setting + " }");
        var e = Assert.Throws<ConfigurationException>(() => new VcpuExecutorConfigurator(config, null!));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnApplicationsBadDefinition_IsRefusedNamingTheSetting_AnotherExecutorIsNotChecked()
    {
        var bad = ConfigurationFactory.ParseString(VcpuDispatcher.Id + ".vcpu-executor.threads = 2000");
        var e = Assert.Throws<ConfigurationException>(() => VcpuDispatcher.Validate(bad));
        Assert.Contains(VcpuDispatcher.Id + ".vcpu-executor.threads", e.Message, StringComparison.Ordinal);
        VcpuDispatcher.Validate(ConfigurationFactory.ParseString(VcpuDispatcher.Id + " { executor = default-executor, vcpu-executor.threads = 2000 }"));
        VcpuDispatcher.Validate(ConfigurationFactory.ParseString("akka.loglevel = INFO"));
    }

    [Fact]
    public void NoThreadsSetting_MeansOnePerCore()
    {
        var configurator = new VcpuExecutorConfigurator(VcpuDispatcher.DefaultConfig.GetConfig(VcpuDispatcher.Id), null!);
        var executor = (VcpuExecutor)configurator.Produce("test-default");
        executor.Shutdown();
        Assert.Equal(Environment.ProcessorCount, executor.Threads);
    }
}

/// <summary>Which dispatcher a VM's actors run on.</summary>
public sealed class VcpuDispatcherSpecs : VmSpecBase
{
    public VcpuDispatcherSpecs(ITestOutputHelper output) : base(output)
    {
    }

    private static string DispatcherOf(IActorRef actor) => ((ActorRefWithCell)actor).Underlying is ActorCell cell ? cell.Dispatcher.Id : "";

    [Fact]
    public async Task TheVmAndItsApics_RunOnTheVcpuDispatchersThreads()
    {
        await StartVm(2, x2Apic: true);
        Assert.Equal(VcpuDispatcher.Id, DispatcherOf(Vm.Vm));
        Assert.Equal(VcpuDispatcher.Id, DispatcherOf(Vm.Router));
        Assert.Equal(VcpuDispatcher.Id, DispatcherOf(Vm.GetApicRef(0)));

        var probe = CreateTestProbe();
        await Vm.GetApicRef(1).Ask<AccessCompleted>(r => new HostCore(1, new ThreadNameCore(probe), 0, r), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.StartsWith(VcpuDispatcher.Id + "-", await probe.ExpectMsgAsync<string>());
    }
}

/// <summary>A dispatcher left without actors shuts its executor down; the next VM gets a new one.</summary>
public sealed class VcpuDispatcherRestartSpecs : TestKit
{
    public VcpuDispatcherRestartSpecs(ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString(VcpuDispatcher.Id + ".shutdown-timeout = 100ms"), output: output)
    {
    }

    [Fact]
    public async Task AVmMadeAfterTheLastOneStoppedAndTheExecutorShutDown_Works()
    {
        for (var round = 0; round < 3; round++)
        {
            var vm = await VmHandle.CreateAsync(Sys, new VmSpec("round-" + round, 2, X2Apic: true));
            Assert.Equal(AccessStatus.Ok, (await vm.WriteMsrAsync(1, 0x808, 0x30)).Status);
            Assert.Equal(0x30UL, (await vm.ReadMsrAsync(1, 0x808)).Value);
            await vm.DisposeAsync();
            await Task.Delay(400);
        }
    }
}

/// <summary>A system that defines the dispatcher itself: its definition is the one used.</summary>
public sealed class ConfiguredVcpuDispatcherSpecs : TestKit
{
    public ConfiguredVcpuDispatcherSpecs(ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString(VcpuDispatcher.Id + " { type = Dispatcher, executor = default-executor }"), output: output)
    {
    }

    [Fact]
    public async Task ADispatcherDefinedInTheConfiguration_IsUsed_AndTheVmWorks()
    {
        Assert.True(Sys.Dispatchers.HasDispatcher(VcpuDispatcher.Id));
        await using var vm = await VmHandle.CreateAsync(Sys, new VmSpec("configured", 2, X2Apic: true));
        var probe = CreateTestProbe();
        await vm.GetApicRef(0).Ask<AccessCompleted>(r => new HostCore(0, new ThreadNameCore(probe), 0, r), TimeSpan.FromSeconds(5), CancellationToken.None);
        var thread = await probe.ExpectMsgAsync<string>();
        Assert.False(thread.StartsWith(VcpuDispatcher.Id + "-", StringComparison.Ordinal), "ran on " + thread);
        Assert.Equal(AccessStatus.Ok, (await vm.WriteMsrAsync(0, 0x808, 0x20)).Status);
        Assert.Equal(0x20UL, (await vm.ReadMsrAsync(0, 0x808)).Value);
    }
}

/// <summary>A system whose configuration sets one key of the dispatcher: the built-in definition gives the rest.</summary>
public sealed class PartlyConfiguredVcpuDispatcherSpecs : TestKit
{
    public PartlyConfiguredVcpuDispatcherSpecs(ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString(VcpuDispatcher.Id + ".vcpu-executor.threads = 1"), output: output)
    {
    }

    [Fact]
    public async Task OneKeySet_TheVmRunsOnTheVcpuExecutorWithThatKey()
    {
        await using var vm = await VmHandle.CreateAsync(Sys, new VmSpec("one-thread", 4, X2Apic: true));
        var probe = CreateTestProbe();
        for (var cpu = 0; cpu < 4; cpu++)
        {
            var index = cpu;
            await vm.GetApicRef(cpu).Ask<AccessCompleted>(r => new HostCore(index, new ThreadNameCore(probe), 0, r), TimeSpan.FromSeconds(5), CancellationToken.None);
            // One thread: every vAPIC runs on thread 0 of the executor.
            Assert.Equal(VcpuDispatcher.Id + "-0", await probe.ExpectMsgAsync<string>());
        }
    }
}

/// <summary>Tells a probe the name of the thread it is attached on: the thread its vAPIC actor runs on.</summary>
internal sealed class ThreadNameCore(IActorRef probe) : IHostedCore
{
    public void Attached(IHostedCoreContext context) => probe.Tell(Thread.CurrentThread.Name ?? "(unnamed thread)");

    public void InterruptPending()
    {
    }

    public void ExitsCompleted(ReadOnlySpan<AccessResult> results)
    {
    }

    public void Receive(object message)
    {
    }
}
