using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using VApicActors.Actors;
using VApicActors.Actors.Protocol;
using VApicActors.Host.Configuration;
using VApicActors.Host.Hosting;

namespace VApicActors.Host.Tests;

[Collection(SerilogCollection.Name)]
public sealed class HostTests
{
    [Fact]
    public async Task Host_StartsAndStops_WithTheRealHoconFiles()
    {
        var (config, settings) = HoconSettings.Load();
        LoggingConfiguration.Apply(verbose: false);
        using var host = VapicHost.Build(config, settings);

        await host.StartAsync();
        var system = host.Services.GetRequiredService<ActorSystem>();
        Assert.Equal(VapicHost.ActorSystemName, system.Name);
        Assert.Contains(system.Settings.Loggers, l => l.StartsWith("Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog", StringComparison.Ordinal));
        Assert.DoesNotContain(system.Settings.Loggers, l => l.Contains("DefaultLogger", StringComparison.Ordinal));
        Assert.Equal(1_000_000_000, system.Settings.Config.GetLong("vapic.simulation.timer-hz"));
        Assert.Same(settings, host.Services.GetRequiredService<VapicSettings>());
        Assert.False(system.WhenTerminated.IsCompleted);

        await host.StopAsync();
        var terminated = await Task.WhenAny(system.WhenTerminated, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.Same(system.WhenTerminated, terminated);
    }

    [Theory]
    [InlineData("thread-pool", false)]
    [InlineData("vcpu", true)]
    public async Task AHostedVm_RunsWhereVmThreadsSays(string vmThreads, bool onVcpuExecutor)
    {
        var (config, settings) = HoconSettings.Load([SettingOverride.Text("vapic.vm-threads", vmThreads, "--test")]);
        Assert.Equal(onVcpuExecutor, settings.VmThreadsOnVcpuExecutor);
        LoggingConfiguration.Apply(verbose: false);
        using var host = VapicHost.Build(config, settings);
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            await using var vm = await VmHandle.CreateAsync(system, new VmSpec("where", 1, X2Apic: true));
            var thread = await vm.GetApicRef(0).Ask<string>(r => new ApicProtocol.HostCore(0, new ThreadNameReporter(r), 0, ActorRefs.Nobody),
                TimeSpan.FromSeconds(10), CancellationToken.None);
            Assert.Equal(onVcpuExecutor, thread.StartsWith(VcpuDispatcher.Id + "-", StringComparison.Ordinal));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>Answers with the name of the thread it is attached on: the thread its vAPIC actor runs on.</summary>
    private sealed class ThreadNameReporter(IActorRef replyTo) : IHostedCore
    {
        public void Attached(IHostedCoreContext context) => replyTo.Tell(Thread.CurrentThread.Name ?? "(unnamed)");

        public void InterruptPending()
        {
        }

        public void ExitsCompleted(ReadOnlySpan<VApicActors.Registers.AccessResult> results)
        {
        }

        public void Receive(object message)
        {
        }
    }

    [Fact]
    public async Task RunAsync_StoppingTheHost_CancelsTheWorkAndStopsCleanly()
    {
        var (config, settings) = HoconSettings.Load();
        LoggingConfiguration.Apply(verbose: false);
        var error = new StringWriter();
        using var cts = new CancellationTokenSource();
        ActorSystem? seen = null;

        var code = await VapicHost.RunAsync(config, settings, async (system, ct) =>
        {
            seen = system;
            cts.CancelAfter(TimeSpan.FromMilliseconds(200));
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        }, error, cts.Token);

        Assert.Equal(VapicHost.ExitInterrupted, code);
        Assert.Contains("interrupted", error.ToString());
        Assert.NotNull(seen);
        var terminated = await Task.WhenAny(seen!.WhenTerminated, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.Same(seen.WhenTerminated, terminated);
    }

    [Fact]
    public async Task RunAsync_WorkResult_IsTheExitCode()
    {
        var (config, settings) = HoconSettings.Load();
        LoggingConfiguration.Apply(verbose: false);
        var code = await VapicHost.RunAsync(config, settings, (system, _) => Task.FromResult(system.WhenTerminated.IsCompleted ? 9 : 3), TextWriter.Null, CancellationToken.None);
        Assert.Equal(3, code);
    }

    [Fact]
    public async Task ActorLogs_ReachSerilog_WithStructuredProperties()
    {
        var (config, settings) = HoconSettings.Load([SettingOverride.Text("akka.loglevel", "INFO", "-v")]);
        var sink = new CollectingSink();
        Log.Logger = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger();
        try
        {
            using var host = VapicHost.Build(config, settings);
            await host.StartAsync();
            var system = host.Services.GetRequiredService<ActorSystem>();
            await using (await VmHandle.CreateAsync(system, new VmSpec("logged-vm", 3)))
            {
                var deadline = DateTime.UtcNow.AddSeconds(20);
                while (DateTime.UtcNow < deadline && !sink.Events.Any(IsVmStarted))
                {
                    await Task.Delay(50);
                }
            }
            await host.StopAsync();
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }

        var started = sink.Events.FirstOrDefault(IsVmStarted);
        Assert.NotNull(started);
        Assert.Contains(started!.Properties.Values, v => v is ScalarValue { Value: "logged-vm" });
        Assert.Contains(started.Properties.Values, v => v is ScalarValue { Value: 3 });

        static bool IsVmStarted(LogEvent e) => e.RenderMessage().Contains("logged-vm", StringComparison.Ordinal);
    }

    private sealed class CollectingSink : ILogEventSink
    {
        private readonly List<LogEvent> _events = [];

        public IReadOnlyList<LogEvent> Events
        {
            get
            {
                lock (_events)
                {
                    return _events.ToArray();
                }
            }
        }

        public void Emit(LogEvent logEvent)
        {
            lock (_events)
            {
                _events.Add(logEvent);
            }
        }
    }
}
