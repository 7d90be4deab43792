using Akka.Actor;
using Akka.Configuration;
using VApicActors.Host.Scenarios;
using VApicActors.Host.TraceTools;
using Xunit;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary>Generated scripts run through the scenario runner: the simulator must do what KVM did.</summary>
public sealed class KvmTraceScenarioTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("kvm-scenario-").FullName;
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("kvm-trace-import", ConfigurationFactory.ParseString("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        Directory.Delete(_directory, recursive: true);
    }

    public static TheoryData<string, int> Excerpts => new()
    {
        { nameof(KvmTraceExcerpts.X2ApicReschedule), 0 },
        { nameof(KvmTraceExcerpts.PerfScriptReschedule), 0 },
        { nameof(KvmTraceExcerpts.XApicQuirks), 0 },
        { nameof(KvmTraceExcerpts.MailedWithoutTasks), 1 },
        { nameof(KvmTraceExcerpts.X2ApicQuirks), 0 },
        { nameof(KvmTraceExcerpts.XApicBringUp), 0 },
        { nameof(KvmTraceExcerpts.MailedDestinationInTheAcceptOnly), 0 },
        { nameof(KvmTraceExcerpts.X2ApicDestinationInTheAcceptOnly), 0 },
        { nameof(KvmTraceExcerpts.XApicInitAcceptTorn), 0 },
        { nameof(KvmTraceExcerpts.X2ApicIcrWriteAlone), 0 },
        { nameof(KvmTraceExcerpts.XApicLevelTriggeredFixedIpi), 0 },
        { nameof(KvmTraceExcerpts.XApicBroadcastAcceptTorn), 0 },
        { nameof(KvmTraceExcerpts.XApicNmiAndInitToAllIncludingSelf), 0 },
        { nameof(KvmTraceExcerpts.XApicLogicalIpiLdrBeforeTheExcerpt), 0 },
        { nameof(KvmTraceExcerpts.XApicLogicalIpiLdrInTheExcerpt), 0 },
    };

    [Theory]
    [MemberData(nameof(Excerpts))]
    public async Task Run_GeneratedScript_EveryExpectationHolds(string excerpt, int defaultVcpu)
    {
        var text = (string)typeof(KvmTraceExcerpts).GetField(excerpt)!.GetRawConstantValue()!;
        var result = KvmTraceImporter.Import(text, defaultVcpu);

        var summary = await RunAsync(excerpt, result.Script);

        Assert.True(summary.Failed == 0 && summary.Errors == 0, string.Join("\n", summary.Failures));
        Assert.Equal(result.Report.ExpectationsWritten, summary.Passed);
    }

    [Fact]
    public async Task Run_LinuxRescheduleAndCallFunctionIpis_SimulatorAgreesWithKvm()
    {
        var result = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule);

        var summary = await RunAsync("reschedule", result.Script);

        Assert.Equal(0, summary.Failed);
        Assert.Equal(0, summary.Errors);
        Assert.Equal(8, summary.Passed);
    }

    [Fact]
    public async Task Run_ScriptWhoseTraceDisagrees_ReportsTheMismatch()
    {
        var script = KvmTraceImporter.Import(KvmTraceExcerpts.X2ApicReschedule).Script
            .Replace("ack -> 0xfd", "ack -> 0xfc", StringComparison.Ordinal)
            .Replace("rdmsr 0x827 -> 0x20000000/0x20000000", "rdmsr 0x827 -> 0x0/0x20000000", StringComparison.Ordinal);

        var summary = await RunAsync("tampered", script);

        Assert.Equal(2, summary.Failed);
        Assert.Contains(summary.Failures, f => f.Contains("expected 0xfc, got 0xfd", StringComparison.Ordinal));
    }

    private async Task<ScenarioRunSummary> RunAsync(string name, string script)
    {
        var path = Path.Combine(_directory, name + ".vapic");
        await File.WriteAllTextAsync(path, script);
        return await new ScenarioRunner(_system).RunFileAsync(path, TextWriter.Null, TextWriter.Null);
    }
}
