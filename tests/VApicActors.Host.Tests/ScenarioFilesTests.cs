using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Tests;

/// <summary>
/// The project's own scripts (tests/scenarios/*.vapic, and the suites in its subfolders) run through the
/// same runner as <c>vapic run</c>. A script's test name is its path below tests/scenarios, for example
/// <c>h-ipis.vapic</c> or <c>SUITE/NAME.vapic</c>.
/// </summary>
public sealed class ScenarioFilesTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    private static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "scenarios");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var name in ScriptNames())
        {
            data.Add(name);
        }
        return data;
    }

    /// <summary>Every script below the scenarios folder, as a path relative to it with '/' separators.</summary>
    private static IEnumerable<string> ScriptNames() =>
        System.IO.Directory.GetFiles(Directory, "*.vapic", SearchOption.AllDirectories)
            .Select(file => Path.GetRelativePath(Directory, file).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal);

    [Fact]
    public void Scripts_CoverEveryBehaviourAreaAndTheLinuxBringUp()
    {
        var names = System.IO.Directory.GetFiles(Directory, "*.vapic").Select(Path.GetFileName).ToArray();
        foreach (var area in new[] { "a-", "b-", "c-", "d-", "e-", "f-", "g-", "h-", "i-", "j-", "linux-bringup" })
        {
            Assert.Contains(names, n => n!.StartsWith(area, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void KvmTestSuites_HaveOneScriptPerSourceTestFile()
    {
        var names = ScriptNames().ToArray();
        foreach (var script in new[]
                 {
                     "kvm-tests/kut-apic.vapic", "kvm-tests/kut-msr-x2apic.vapic",
                     "kvm-tests/selftest-xapic-state.vapic", "kvm-tests/selftest-xapic-tpr.vapic",
                     "kvm-tests/selftest-xapic-ipi.vapic", "kvm-tests/selftest-apic-bus-clock.vapic",
                 })
        {
            Assert.Contains(script, names);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Script_EveryExpectationHolds(string name)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var summary = await new ScenarioRunner(fixture.System).RunAsync([Path.Combine(Directory, name)], output, error);

        Assert.True(summary.ExitCode == 0, $"{summary.SummaryLine}\n{string.Join('\n', summary.Failures)}");
        Assert.True(summary.Passed > 0, "the script checks nothing");
    }
}
