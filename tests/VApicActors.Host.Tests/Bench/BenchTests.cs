using Akka.Configuration;
using Spectre.Console;
using VApicActors.Host.Bench;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests.Bench;

/// <summary>The three designs of <c>vapic bench</c> run the same workload: five exits per IPI, nothing lost.</summary>
public sealed class BenchTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    private const int Vcpus = 8;
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Every completed IPI took exactly five exits; a vCPU whose IPI is still in flight at the end has made the three
    /// exits of its round and not yet the two of its target, so the count can exceed five per IPI by 3 per vCPU.
    /// </summary>
    private static void AssertFiveExitsPerIpi(BenchResult result, TimeSpan? ran = null)
    {
        Assert.True(result.Ipis > 0, result.Design + " completed no IPI");
        Assert.InRange(result.Exits, 5 * result.Ipis, 5 * result.Ipis + 3 * Vcpus);
        // (A timer may end the measured time a millisecond before the stopwatch reaches it.)
        Assert.True(result.Elapsed >= 0.9 * (ran ?? Short), result.Design + " stopped early: " + result.Elapsed);
    }

    [Fact]
    public void TheDirectDesign_MakesFiveExitsPerIpi() => AssertFiveExitsPerIpi(DirectDesign.Run(Vcpus, Short));

    [Fact]
    public void TheLockDesign_MakesFiveExitsPerIpi() => AssertFiveExitsPerIpi(LockDesign.Run(Vcpus, Short, 2));

    [Fact]
    public void TheLockDesign_WithAThreadPerVcpu_MakesFiveExitsPerIpi()
    {
        var result = LockDesign.Run(Vcpus, Short, Vcpus);
        AssertFiveExitsPerIpi(result);
        Assert.Equal(Vcpus, result.Threads);
    }

    [Theory]
    [InlineData("0", 0, 2)]
    [InlineData("3", 3, 3)]
    [InlineData("256", 256, 256)]
    [InlineData("per-vcpu", BenchSettings.ThreadPerVcpu, 64)]
    [InlineData("PER-VCPU", BenchSettings.ThreadPerVcpu, 64)]
    public void LockThreads_AreOnePerCore_AGivenNumber_OrOnePerVcpu(string text, int parsed, int atSixtyFourOnTwoCores)
    {
        var settings = BenchSettings.Create(StressSettings.LoadConfig()) with { Threads = BenchSettings.ParseThreads(text, "--lock-threads") };
        Assert.Equal(parsed, settings.Threads);
        Assert.Equal(parsed == 0 ? Environment.ProcessorCount : atSixtyFourOnTwoCores, settings.LockThreads(64));
    }

    [Theory]
    [InlineData("257")]
    [InlineData("-1")]
    [InlineData("many")]
    [InlineData("")]
    public void BadLockThreads_AreRefusedNamingTheOption(string text)
    {
        var e = Assert.Throws<StressSettingsException>(() => BenchSettings.ParseThreads(text, "--lock-threads"));
        Assert.Equal("--lock-threads", e.Key);
        Assert.Contains("must be 0 (one per core), 1 to 256, or per-vcpu, not '" + text + "'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AThreadPerVcpu_IsNamedInTheTitleAndEachLockRunsThreadsInTheJson()
    {
        var (console, output) = TestConsoles.Plain(width: 200);
        var settings = BenchSettings.Create(StressSettings.LoadConfig()) with { Threads = BenchSettings.ThreadPerVcpu };
        BenchResult[] results =
        [
            new("locks", 64, 1_000_000, 200_000, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), Threads: 64),
            new("actors", 64, 2_000_000, 400_000, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)),
        ];

        BenchCommand.Print(console, results, 64, settings with { Designs = ["locks", "actors"] });

        Assert.Contains("locks: a thread per vCPU;", output.ToString().ReplaceLineEndings(" "), StringComparison.Ordinal);
        using var json = System.Text.Json.JsonDocument.Parse(BenchCommand.ToJson(results, settings));
        var designs = json.RootElement.GetProperty("designs");
        Assert.Equal(64, designs[0].GetProperty("threads").GetInt32());
        Assert.False(designs[1].TryGetProperty("threads", out _));
    }

    [Theory]
    [InlineData(ActorExits.PerExit)]
    [InlineData(ActorExits.Batched)]
    [InlineData(ActorExits.Hosted)]
    public async Task TheActorDesign_MakesFiveExitsPerIpi_HoweverItsVcpusMakeThem(ActorExits exits) =>
        AssertFiveExitsPerIpi(await ActorDesign.RunAsync(fixture.System, Vcpus, Short, exits));

    [Fact]
    public async Task TheFloorDesign_MakesFiveExitsPerIpi() =>
        AssertFiveExitsPerIpi(await FloorDesign.RunAsync(fixture.System, Vcpus, Short));

    [Fact]
    public void TheShippedSettings_MeasureEveryDesign_WithTheHostedCore()
    {
        var settings = BenchSettings.Create(StressSettings.LoadConfig());
        Assert.Equal(new[] { "direct", "locks", "actors" }, settings.Designs.ToArray());
        Assert.Equal(ActorExits.Hosted, settings.ActorExits);
    }

    [Theory]
    [InlineData("actors", new[] { "actors" })]
    [InlineData("actors, direct", new[] { "direct", "actors" })]
    [InlineData("LOCKS", new[] { "locks" })]
    [InlineData("floor,actors,locks", new[] { "locks", "actors", "floor" })]
    public void Designs_AreTakenInTheTablesOrder(string text, string[] expected) =>
        Assert.Equal(expected, BenchSettings.ParseDesigns(text, "--designs").ToArray());

    [Theory]
    [InlineData("actors,mutex", "not 'mutex'")]
    [InlineData("actors,actors", "twice")]
    [InlineData(" , ", "at least one")]
    [InlineData("actors,,direct", "'actors,,direct' has an empty entry")]
    public void BadDesigns_AreRefusedNamingTheProblem(string text, string problem)
    {
        var e = Assert.Throws<StressSettingsException>(() => BenchSettings.ParseDesigns(text, "--designs"));
        Assert.Equal("--designs", e.Key);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadDesignInTheConfiguration_NamesTheKey()
    {
        var config = ConfigurationFactory.ParseString("vapic.bench.designs = [actors, threads]").WithFallback(StressSettings.LoadConfig());
        var e = Assert.Throws<StressSettingsException>(() => BenchSettings.Create(config));
        Assert.Equal("vapic.bench.designs", e.Key);
    }

    [Fact]
    public async Task AnInterruptedBench_StopsWithoutMeasuring()
    {
        var settings = BenchSettings.Create(StressSettings.LoadConfig()) with { Vcpus = [Vcpus], Duration = TimeSpan.FromMinutes(10) };
        using var interrupted = new CancellationTokenSource();
        await interrupted.CancelAsync();
        var (console, _) = TestConsoles.Plain();

        var results = await BenchCommand.RunAsync(settings, console, cancellationToken: interrupted.Token);

        Assert.Empty(results);
    }

    [Fact]
    public async Task OnlyTheActors_AreMeasuredAndPrinted_WithoutTheOtherDesignsColumns()
    {
        var settings = BenchSettings.Create(StressSettings.LoadConfig()) with
        {
            Vcpus = [Vcpus],
            Duration = TimeSpan.FromMilliseconds(200),
            WarmUp = TimeSpan.Zero,
            Designs = ["actors"],
        };
        var (console, output) = TestConsoles.Plain(width: 200);

        var results = await BenchCommand.RunAsync(settings, console);

        var result = Assert.Single(results);
        Assert.Equal("actors", result.Design);
        AssertFiveExitsPerIpi(result, settings.Duration);
        var row = output.ToString().Split('\n').Select(l => l.Split('│', StringSplitOptions.TrimEntries)).Single(cells => cells.Length > 1 && cells[1] == Vcpus.ToString());
        // vCPUs, actors exits/s, actors IPIs/s: no column of a design not measured, nor of a ratio that needs one.
        Assert.Equal(5, row.Length);
        Assert.EndsWith(" M", row[2], StringComparison.Ordinal);
        Assert.EndsWith(" M", row[3], StringComparison.Ordinal);
        Assert.DoesNotContain("direct", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("locks", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\"locks\"", BenchCommand.ToJson(results, settings), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("actors", "vCPUs|actors exits/s|actors IPIs/s")]
    [InlineData("direct,actors", "vCPUs|direct exits/s|actors exits/s|actors IPIs/s|actors/direct")]
    [InlineData("locks,actors", "vCPUs|locks exits/s|actors exits/s|actors IPIs/s|actors/locks")]
    [InlineData("direct,locks", "vCPUs|direct exits/s|locks exits/s")]
    [InlineData("direct,locks,actors", "vCPUs|direct exits/s|locks exits/s|actors exits/s|actors IPIs/s|actors/locks|actors/direct")]
    [InlineData("locks,actors,floor", "vCPUs|locks exits/s|actors exits/s|floor exits/s|actors IPIs/s|actors/locks|actors/floor|floor/locks")]
    [InlineData("floor", "vCPUs|floor exits/s")]
    public void ThePrintedTable_HasTheColumnsOfTheDesignsMeasuredOnly(string designs, string headers)
    {
        var (console, output) = TestConsoles.Plain(width: 200);
        var settings = BenchSettings.Create(StressSettings.LoadConfig()) with { Designs = BenchSettings.ParseDesigns(designs, "--designs") };
        BenchResult Result(string design) => new(design, 64, 1_000_000, 200_000, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        BenchCommand.Print(console, [.. settings.Designs.Select(Result)], 2, settings);

        var lines = output.ToString().Split('\n').Select(l => l.Split('│', StringSplitOptions.TrimEntries)).Where(cells => cells.Length > 1).ToList();
        Assert.Equal(headers, string.Join("|", lines[0][1..^1]));
        var row = Assert.Single(lines, cells => cells[1] == "64");
        Assert.DoesNotContain("-", row[2..^1]);
    }

    [Fact]
    public void AVcpuCountListedTwice_HasARowForEachOfItsRuns()
    {
        // --vcpus 64,64,256: the second 64-vCPU runs find the code compiled; the table showed the first runs only.
        var (console, output) = TestConsoles.Plain(width: 200);
        var settings = BenchSettings.Create(StressSettings.LoadConfig()) with { Designs = BenchSettings.ParseDesigns("direct,actors", "--designs") };
        BenchResult Result(string design, int vcpus, long exits) => new(design, vcpus, exits, exits / 5, TimeSpan.FromSeconds(1));

        BenchCommand.Print(console, [Result("direct", 64, 1_000_000), Result("actors", 64, 2_000_000), Result("direct", 64, 3_000_000),
            Result("actors", 64, 4_000_000), Result("direct", 256, 5_000_000), Result("actors", 256, 6_000_000)], 2, settings);

        var rows = output.ToString().Split('\n').Select(l => l.Split('│', StringSplitOptions.TrimEntries)).Where(cells => cells.Length > 1).Skip(1)
            .Select(cells => string.Join("|", cells[1..4])).ToList();
        Assert.Equal(["64|1.00 M|2.00 M", "64|3.00 M|4.00 M", "256|5.00 M|6.00 M"], rows);
    }

    [Theory]
    [InlineData("4,,8")]
    [InlineData("4,8,")]
    [InlineData(",4")]
    public void AVcpuListWithAnEmptyEntry_IsRefused(string text)
    {
        var e = Assert.Throws<StressSettingsException>(() => BenchSettings.ParseCounts(text, "--vcpus"));
        Assert.Equal("invalid configuration: --vcpus: '" + text + "' has an empty entry", e.Message);
    }

    [Fact]
    public void ThePrintedTable_IntoAFileOrPipe_KeepsItsHeadersWhole()
    {
        // A console that is not a terminal is 80 columns wide: the ratio headers printed as "actors/l…" and "actors/…".
        var (console, output) = TestConsoles.Plain();
        var settings = BenchSettings.Create(StressSettings.LoadConfig());
        BenchResult Result(string design) => new(design, 64, 1_000_000, 200_000, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        BenchCommand.Print(console, [Result("direct"), Result("locks"), Result("actors")], 2, settings);

        var text = output.ToString();
        Assert.DoesNotContain("…", text);
        Assert.Contains("actors/locks", text);
        Assert.Contains("actors/direct", text);
    }

    [Fact]
    public void ThePrintedTable_OfEveryDesign_IntoAFileOrPipe_KeepsItsHeadersWhole()
    {
        // --designs direct,locks,actors,floor into a file: ten columns did not fit in 120, and the ratios printed as
        // "actors/l…", "actors/d…", "actors/f…" and "floor/lo…".
        var (console, output) = TestConsoles.Plain();
        var settings = BenchSettings.Create(StressSettings.LoadConfig()) with { Designs = BenchSettings.DesignNames };
        BenchResult Result(string design) => new(design, 1024, 100_000_000, 20_000_000, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        BenchCommand.Print(console, [.. BenchSettings.DesignNames.Select(Result)], 2, settings);

        var text = output.ToString();
        Assert.DoesNotContain("…", text);
        foreach (var header in new[] { "actors/locks", "actors/direct", "actors/floor", "floor/locks" })
        {
            Assert.Contains(header, text);
        }
    }
}
