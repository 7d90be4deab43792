using System.Text.Json;
using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Host.Scale;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests.Scale;

/// <summary>The scale measurement run small: the VMs it creates, the broadcast every vCPU receives, the report's counts.</summary>
public sealed class ScaleRunTests : IAsyncLifetime
{
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("scale-tests", StressCommand.ActorSystemConfig);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _system.Terminate();

    [Fact]
    public async Task Run_TwoVmsOf256_EveryVcpuReceivesTheBroadcast()
    {
        var settings = new ScaleSettings(Total: 512, VcpusPerVm: 256, SparseApicIds: true);

        var report = await new ScaleRun(_system, settings).RunAsync();

        Assert.Equal(512, report.TotalVcpus);
        Assert.Equal([0, 1], report.Vms.Select(v => v.Number));
        Assert.All(report.Vms, v => Assert.Equal(256, v.Vcpus));
        Assert.Equal(256, report.Broadcast.Vcpus);
        Assert.Equal(256, report.Broadcast.Received);
        Assert.Empty(report.Broadcast.Missing);
        Assert.True(report.Broadcast.EveryVcpuReceived);
        Assert.Equal(512L * 4096, report.Memory.NativePageBytes);
        Assert.Equal(report.ManagedBytesPerVcpu + 4096, report.BytesPerVcpu, 6);
    }

    [Fact]
    public async Task Run_TotalNotAMultiple_LastVmHoldsTheRemainderWithDenseIds()
    {
        var settings = new ScaleSettings(Total: 300, VcpusPerVm: 128, SparseApicIds: false);

        var report = await new ScaleRun(_system, settings).RunAsync();

        Assert.Equal([128, 128, 44], report.Vms.Select(v => v.Vcpus));
        Assert.Equal(300, report.TotalVcpus);
        Assert.Equal(128, report.Broadcast.Received);
    }

    [Fact]
    public async Task Run_VmsAreStoppedAtTheEnd()
    {
        await using (await VmHandle.CreateAsync(_system, new VmSpec("scale-probe", 2)))
        {
            Assert.True(await AnyScaleVmAsync(), "the selection finds a running VM");
        }

        var report = await new ScaleRun(_system, new ScaleSettings(Total: 64, VcpusPerVm: 32)).RunAsync();

        Assert.Equal(64, report.TotalVcpus);
        Assert.False(await AnyScaleVmAsync());
    }

    private Task<bool> AnyScaleVmAsync() =>
        _system.ActorSelection("/user/vm-scale-*").ResolveOne(TimeSpan.FromSeconds(5))
            .ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default);

    [Fact]
    public void ToJson_HasTheCountsAndMemory()
    {
        var report = new ScaleReport(
            new ScaleSettings(Total: 8, VcpusPerVm: 4),
            [new VmCreation(0, 4, 0.5), new VmCreation(1, 4, 0.25)],
            new BroadcastResult(4, 4, 0.001, 0.002, []),
            new MemoryResult(1000, 1000 + 8 * 2048, 50_000, 8 * 4096, 10_000, 10_000 + 8 * 8192, "RssAnon"),
            0.1);

        using var json = JsonDocument.Parse(ScaleCommand.ToJson(report));
        var root = json.RootElement;

        Assert.Equal(8, root.GetProperty("totalVcpus").GetInt32());
        Assert.Equal(2, root.GetProperty("vms").GetArrayLength());
        Assert.Equal(4, root.GetProperty("broadcast").GetProperty("received").GetInt32());
        Assert.Equal(2048, root.GetProperty("memory").GetProperty("managedBytesPerVcpu").GetDouble());
        Assert.Equal(6144, root.GetProperty("memory").GetProperty("bytesPerVcpu").GetDouble());
        Assert.Equal(8192, root.GetProperty("memory").GetProperty("processBytesPerVcpu").GetDouble());
        Assert.True(root.GetProperty("memory").GetProperty("targetMet").GetBoolean());
        Assert.Equal(0.5 * 4096 / 4, root.GetProperty("creationSecondsPer4096").GetProperty("max").GetDouble());
    }

    [Fact]
    public async Task RunAsync_InterruptedOnceTheReportIsDone_StillWritesTheJsonItPrinted()
    {
        // A Ctrl-C that comes while the VMs are stopped (seconds, at 1 000 000 vCPUs) is only seen after the run: the
        // whole report was printed, but --json was not written and the exit status said the run was cut short.
        using var temp = new TempDirectory();
        var file = temp.File("scale.json");
        using var interrupt = new CancellationTokenSource();
        var printed = new InterruptingWriter(interrupt, "scale: summary");
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(printed),
            Ansi = Spectre.Console.AnsiSupport.No,
            Interactive = Spectre.Console.InteractionSupport.No,
        });

        var code = await ScaleCommand.RunAsync(new ScaleSettings(Total: 8, VcpusPerVm: 4), file, console, interrupt.Token);

        Assert.True(interrupt.IsCancellationRequested);
        Assert.Equal(StressCommand.ExitOk, code);
        using var json = JsonDocument.Parse(File.ReadAllText(file));
        Assert.Equal(8, json.RootElement.GetProperty("totalVcpus").GetInt32());
    }

    /// <summary>Text written to the console; cancels <c>interrupt</c> once <c>marker</c> has been written, as a Ctrl-C would.</summary>
    private sealed class InterruptingWriter(CancellationTokenSource interrupt, string marker) : StringWriter
    {
        public override void Write(string? value)
        {
            base.Write(value);
            if (ToString().Contains(marker, StringComparison.Ordinal))
            {
                interrupt.Cancel();
            }
        }
    }

    [Fact]
    public void Settings_OutOfRange_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScaleSettings(Total: 0).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScaleSettings(VcpusPerVm: 70_000).Validate());
        Assert.Equal([4096, 4096, 1808], new ScaleSettings(Total: 10_000).VmSizes());
    }
}
