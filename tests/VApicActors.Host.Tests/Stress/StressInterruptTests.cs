using System.Text.Json;
using Akka.Actor;
using VApicActors.Host.Cli;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests.Stress;

/// <summary>
/// An interrupted stress run reports what ran, as usual, and says it was interrupted where the report is read: in the
/// JSON (<c>interrupted</c>), in the printed report, and on standard error in the run's own measure — operations for a
/// run of a number of operations, whose elapsed time in a sequential run is virtual. Interrupted before its first
/// operation, it stops there (exit 130).
/// </summary>
[Collection(SerilogCollection.Name)]
public sealed class StressInterruptTests
{
    private static StressSettings Sequential(long operations) =>
        StressSettings.Create(StressSettings.LoadConfig()) with { Progress = false, Vcpus = 4, Sequential = true, Operations = operations, Seed = 3 };

    [Fact]
    public async Task SequentialRun_InterruptedAfterItsFirstOperations_TheReportAndItsJsonSaySo()
    {
        var system = StressCommand.CreateSystem("stress-interrupt", null);
        try
        {
            // Ten million operations take minutes: the run is still going when it is interrupted.
            var settings = Sequential(10_000_000);
            var engine = new StressEngine(system, settings);
            using var interrupt = new CancellationTokenSource();
            var run = engine.RunAsync(interrupt.Token);
            while (engine.Progress.Operations == 0 && !run.IsCompleted)
            {
                await Task.Delay(5);
            }
            interrupt.Cancel();
            var report = await run;

            Assert.True(report.AllInvariantsHold);
            Assert.True(report.Interrupted);
            Assert.InRange(report.Operations, 1, 9_999_999);
            using (var json = JsonDocument.Parse(StressOutput.ToJson(report)))
            {
                Assert.True(json.RootElement.GetProperty("interrupted").GetBoolean());
            }
            var (console, printed) = TestConsoles.Plain();
            StressOutput.Print(console, report);
            Assert.Contains("interrupted", printed.ToString(), StringComparison.Ordinal);
            // Not "interrupted after 0.0 s": those were the virtual seconds of the operations that ran.
            Assert.Equal("vapic stress: interrupted after " + report.Operations.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)
                + " of 10,000,000 operations; the report and its checks cover the operations that ran",
                StressCommand.InterruptedLine(report, settings, engine.PlannedOperations));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public void InterruptedLine_RunByTime_SaysTheSecondsOfTheSecondsAskedFor()
    {
        var settings = StressSettings.Create(StressSettings.LoadConfig()) with { Duration = TimeSpan.FromSeconds(5) };
        var report = new StressReport(settings, 2.2, (1000, 4000, 500), (default!, default!), [], new Dictionary<string, long>(),
            new Dictionary<string, long>(), []) { Interrupted = true };

        Assert.Equal("vapic stress: interrupted after 2.2 s of 5 s; the report and its checks cover the operations that ran",
            StressCommand.InterruptedLine(report, settings, 0));
    }

    [Fact]
    public async Task Run_NotInterrupted_TheJsonSaysItWasNot()
    {
        using var dir = new TempDirectory();
        var jsonFile = dir.File("report.json");
        var (console, printed) = TestConsoles.Plain();

        var (code, error) = await StandardError.CaptureAsync(() => StressCommand.RunAsync(Sequential(400), jsonFile, console, CancellationToken.None));

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(File.ReadAllText(jsonFile));
        Assert.Equal(400, json.RootElement.GetProperty("operations").GetInt64());
        Assert.False(json.RootElement.GetProperty("interrupted").GetBoolean());
        Assert.DoesNotContain("interrupted", printed.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("interrupted", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--operations", "1000")]
    [InlineData("--seconds", "30")]
    [InlineData("--sequential", "--operations", "1000")]
    public async Task Run_InterruptedWhileItsVmsAreMade_StopsWithExit130_WithoutAnError(params string[] args)
    {
        // Interrupted before its drivers were all attached, a concurrent run ended in
        // "vapic: unexpected error: System.NullReferenceException" (exit 1) while stopping the drivers it had not made.
        using var interrupt = new CancellationTokenSource();
        interrupt.Cancel();
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await new VapicCommandLine(output, error).InvokeAsync(["stress", "--vcpus", "8", .. args], interrupt.Token);

        Assert.DoesNotContain("unexpected error", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(130, code);
        Assert.Contains("interrupted", error.ToString(), StringComparison.Ordinal);
    }
}
