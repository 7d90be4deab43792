using System.Text.Json;
using VApicActors.Host.Bench;
using VApicActors.Host.Hosting;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests;

public class MachineInfoTests
{
    [Fact]
    public void TheBuildKind_IsTheOneTheTestsWereBuiltAs()
    {
        // The tests and the simulator are built with the same configuration.
#if DEBUG
        Assert.False(MachineInfo.IsOptimizedBuild);
        Assert.StartsWith("vapic bench: warning: this is a Debug build", MachineInfo.DebugBuildWarning("bench"));
        Assert.Contains("dotnet run -c Release --project src/Host -- bench", MachineInfo.DebugBuildWarning("bench"));
#else
        Assert.True(MachineInfo.IsOptimizedBuild);
        Assert.Null(MachineInfo.DebugBuildWarning("bench"));
#endif
    }

    [Fact]
    public void Current_DescribesThisMachine()
    {
        var machine = MachineInfo.Current();
        Assert.Equal(Environment.ProcessorCount, machine.Cores);
        Assert.False(string.IsNullOrWhiteSpace(machine.Cpu));
        Assert.StartsWith(".NET ", machine.Runtime);
        if (OperatingSystem.IsLinux())
        {
            Assert.NotNull(machine.LoadAverage);
            Assert.True(machine.LoadAverage >= 0);
        }
    }

    [Theory]
    [InlineData(2, true, 3.5, "machine: AMD EPYC, 2 cores, .NET 10.0.1, Release build, load average 3.50 at the start")]
    [InlineData(1, false, null, "machine: AMD EPYC, 1 core, .NET 10.0.1, Debug build")]
    public void Describe_IsOneLineForAReport(int cores, bool optimized, double? load, string expected) =>
        Assert.Equal(expected, new MachineInfo("AMD EPYC", cores, "Linux", ".NET 10.0.1", optimized, load).Describe());

    [Fact]
    public void TheBenchJson_SaysWhereItWasMeasured()
    {
        var settings = BenchSettings.Create(StressSettings.LoadConfig());
        BenchResult[] results = [new("direct", 64, 1_000_000, 200_000, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))];

        using var document = JsonDocument.Parse(BenchCommand.ToJson(results, settings, new MachineInfo("Some CPU", 2, "Linux", ".NET 10.0.1", true, 0.25)));

        var machine = document.RootElement.GetProperty("machine");
        Assert.Equal("Some CPU", machine.GetProperty("cpu").GetString());
        Assert.Equal(2, machine.GetProperty("cores").GetInt32());
        Assert.True(machine.GetProperty("optimized").GetBoolean());
        Assert.Equal(0.25, machine.GetProperty("loadAverage").GetDouble());
        Assert.Equal(1, document.RootElement.GetProperty("designs").GetArrayLength());
    }

    [Fact]
    public async Task TheBenchCommand_WritesTheMachineItRanOnToTheJson()
    {
        using var dir = new TempDirectory();
        var json = dir.File("bench.json");
        var (code, _, error) = await Vapic.InvokeAsync("bench", "--seconds", "0.1", "--warm-up", "0", "--vcpus", "2", "--designs", "direct", "--json", json);

        Assert.True(code == 0, error);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(Environment.ProcessorCount, document.RootElement.GetProperty("machine").GetProperty("cores").GetInt32());
        Assert.Equal(MachineInfo.IsOptimizedBuild, document.RootElement.GetProperty("machine").GetProperty("optimized").GetBoolean());
    }
}
