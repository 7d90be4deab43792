using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;

namespace VApicActors.Host.Hosting;

/// <summary>
/// What a rate measured here depends on besides the code: the processor, the cores, the runtime, whether the build is
/// optimized, and how busy the machine was. Bench reports carry it so that runs from different machines or builds are
/// not compared as if they were alike.
/// </summary>
public sealed record MachineInfo(string Cpu, int Cores, string Os, string Runtime, bool Optimized, double? LoadAverage)
{
    /// <summary>This machine and build now.</summary>
    public static MachineInfo Current() => new(
        CpuModel() ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount,
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        IsOptimizedBuild,
        LoadAverageNow());

    /// <summary>
    /// Whether the simulator's own assemblies were compiled with optimizations (a Release build). A Debug build runs the
    /// register model and the actors several times slower, so its rates say little about the design.
    /// </summary>
    public static bool IsOptimizedBuild { get; } = new[] { typeof(MachineInfo).Assembly, typeof(Actors.VmHandle).Assembly, typeof(Registers.LocalApic).Assembly }
        .All(a => a.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled != true);

    /// <summary>The warning a command that reports rates prints on a Debug build; null on a Release build.</summary>
    public static string? DebugBuildWarning(string command) => IsOptimizedBuild
        ? null
        : $"vapic {command}: warning: this is a Debug build, whose rates are several times lower than a Release build's; "
          + $"for numbers to compare, run dotnet run -c Release --project src/Host -- {command} ...";

    /// <summary>One line for a report: <c>machine: AMD EPYC, 2 cores, .NET 10.0.1, Release build, load average 0.42</c>.</summary>
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"machine: {Cpu}, {Cores} {(Cores == 1 ? "core" : "cores")}, {Runtime}, {(Optimized ? "Release" : "Debug")} build")
        + (LoadAverage is double load ? string.Create(CultureInfo.InvariantCulture, $", load average {load:0.00} at the start") : "");

    /// <summary>The first processor's model name (Linux's /proc/cpuinfo), or null where there is none.</summary>
    private static string? CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line[..colon].Trim() is "model name" or "Model" or "cpu model")
                {
                    return line[(colon + 1)..].Trim() is { Length: > 0 } model ? model : null;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or not readable: the architecture stands in.
        }
        return null;
    }

    /// <summary>The 1-minute load average (Linux's /proc/loadavg), or null where there is none.</summary>
    private static double? LoadAverageNow()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ', 2)[0];
            return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out var load) ? load : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
