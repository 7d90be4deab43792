using System.Text.Json;
using Spectre.Console;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests.Stress;

/// <summary>
/// Fault injection (<c>lose-one-ipi</c>) says what it did: it loses the fault vCPU's first fixed IPI that reaches an
/// APIC, which the checker then reports (exit 1); when that vCPU sends none — a mix without fixed IPIs, or only
/// all-but-self IPIs in a VM of one vCPU — nothing is lost, and the report says the injection found nothing to lose
/// instead of claiming a loss (exit 0).
/// </summary>
[Collection(SerilogCollection.Name)]
public sealed class StressFaultInjectionTests
{
    private static StressSettings Faulty(int vcpus, int faultVcpu, long seed, params (OperationKind Kind, int Weight)[] mix) =>
        StressSettings.Create(StressSettings.LoadConfig()) with
        {
            Progress = false,
            Vcpus = vcpus,
            Operations = 60,
            Sequential = true,
            Seed = seed,
            LoseOneIpi = true,
            FaultVcpu = faultVcpu,
            Mix = new OperationMix(mix.ToDictionary(m => m.Kind, m => m.Weight)),
        };

    [Fact]
    public async Task OneVcpuSendingOnlyAllButSelfIpis_NothingIsLost_TheReportSaysSoAndExitsZero()
    {
        // Each all-but-self IPI of a VM of one vCPU reaches no APIC: there is nothing to lose.
        var settings = Faulty(1, 0, 1, (OperationKind.Shorthand, 1), (OperationKind.Tpr, 1));

        var (code, printed, json, error) = await RunAsync(settings);

        Assert.True(code == 0, printed + error);
        Assert.Contains("every invariant holds", printed);
        Assert.DoesNotContain("fault injection lost", Flat(printed));
        Assert.Contains("fault injection: armed on vCPU 0 (APIC 0x0), which sent no fixed IPI that reached an APIC: nothing was lost", Flat(printed));
        Assert.Contains("nothing was lost", json.GetProperty("faultInjection").GetString());
        Assert.DoesNotContain("to follow the IPIs", error);
    }

    [Fact]
    public async Task MixWithoutFixedIpis_TheReportSaysTheInjectionFoundNothingToLose()
    {
        var settings = Faulty(4, 2, 7, (OperationKind.Lowest, 1), (OperationKind.Nmi, 1), (OperationKind.Msi, 1), (OperationKind.Tpr, 1));

        var (code, printed, json, _) = await RunAsync(settings);

        Assert.Equal(0, code);
        Assert.Contains("fault injection: armed on vCPU 2 (APIC 0x2), which sent no fixed IPI that reached an APIC: nothing was lost", Flat(printed));
        Assert.StartsWith("armed on vCPU 2 (APIC 0x2)", json.GetProperty("faultInjection").GetString());
    }

    [Fact]
    public async Task OneVcpuWhoseFirstFixedIpiReachesNoOne_LosesItsFirstThatDoes_AndTheCheckerReportsIt()
    {
        // With seed 1 vCPU 0's first fixed IPI is an all-but-self one (to no APIC); its first to itself is lost.
        var settings = Faulty(1, 0, 1, (OperationKind.Shorthand, 1), (OperationKind.Fixed, 1));

        var (code, printed, json, error) = await RunAsync(settings);

        Assert.True(code == 1, printed + error);
        Assert.Contains("an invariant is violated", printed);
        var accounting = Invariant(json, "fixed-interrupts-accounted");
        Assert.False(accounting.GetProperty("holds").GetBoolean());
        Assert.Contains("fault injection lost 1 IPI.", accounting.GetProperty("detail").GetString());
        // Counts of one read as one, in every detail of a VM of one vCPU.
        Assert.DoesNotContain("(s)", Flat(printed));
        Assert.Equal("IRR and ISR empty on the one vCPU", Invariant(json, "irr-and-isr-empty").GetProperty("detail").GetString());
        Assert.Contains("vCPU 0 (APIC 0x0): ", accounting.GetProperty("detail").GetString());
        Assert.Matches(@"^lost the fixed IPI 0xFD \(physical 0x0\) that vCPU 0 \(APIC 0x0\) sent in its operation \d+, meant for vCPU 0 \(APIC 0x0\)$",
            json.GetProperty("faultInjection").GetString());
        Assert.Contains("fault injection: lost the fixed IPI 0xFD", Flat(printed));
        Assert.Contains("to follow the IPIs that did not end in an EOI", error);
    }

    [Fact]
    public async Task KeptTraceTruncated_TheViolationNamesTheLostIpiOnly_NotSendsWhoseDeliveriesWereNotKept()
    {
        // With a kept trace too small for the run, vCPU 2's list filled up and the deliveries after that were not
        // kept: every later send to it looked unmatched, and the report named vCPU 5's and vCPU 7's IPIs, which arrived,
        // beside vCPU 3's lost one.
        var settings = StressSettings.Create(StressSettings.LoadConfig()) with
        {
            Progress = false,
            Vcpus = 8,
            Operations = 20_000,
            Sequential = true,
            Seed = 1,
            LoseOneIpi = true,
            FaultVcpu = 3,
            TraceCheckCapacity = 1000,
        };

        var (code, _, json, _) = await RunAsync(settings);

        Assert.Equal(1, code);
        var detail = Invariant(json, "fixed-interrupts-accounted").GetProperty("detail").GetString()!;
        Assert.Contains("vCPU 2 (APIC 0x2): 1760 sent to it, 1759 accounted for; first unmatched: vector 0xFC sent by vCPU 3 (APIC 0x3) at trace seq 11", detail);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(detail, "first unmatched"));
        Assert.EndsWith("(the kept trace was truncated: raise trace-check-capacity)", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutFaultInjection_TheReportSaysNothingOfIt()
    {
        var settings = Faulty(2, 0, 3, (OperationKind.Fixed, 1)) with { LoseOneIpi = false };

        var (code, printed, json, _) = await RunAsync(settings);

        Assert.Equal(0, code);
        Assert.DoesNotContain("fault injection", printed);
        Assert.False(json.TryGetProperty("faultInjection", out _));
    }

    private static JsonElement Invariant(JsonElement report, string name) =>
        report.GetProperty("invariants").EnumerateArray().Single(i => i.GetProperty("name").GetString() == name);

    /// <summary>The printed report with its table borders and line breaks taken out, so that wrapped details read as one.</summary>
    private static string Flat(string printed) =>
        System.Text.RegularExpressions.Regex.Replace(printed.Replace("│", " ", StringComparison.Ordinal), @"\s+", " ");

    private static async Task<(int Code, string Printed, JsonElement Json, string Error)> RunAsync(StressSettings settings)
    {
        using var dir = new TempDirectory();
        var jsonFile = dir.File("report.json");
        var (console, printed) = TestConsoles.Plain();

        var (code, error) = await StandardError.CaptureAsync(() =>
            StressCommand.RunAsync(settings, jsonFile, console, CancellationToken.None, dir.File("trace.clef")));

        using var document = JsonDocument.Parse(File.ReadAllText(jsonFile));
        return (code, printed.ToString(), document.RootElement.Clone(), error);
    }
}
