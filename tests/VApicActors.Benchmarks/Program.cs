using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace VApicActors.Benchmarks;

public static class Program
{
    /// <summary>
    /// Runs the benchmarks the arguments select. Exits 1 when one could not be built or run, or gave no result, so that a
    /// script running them sees the failure; 0 otherwise (a listing, or help, included).
    /// </summary>
    public static int Main(string[] args)
    {
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args).ToList();
        return summaries.Any(Failed) ? 1 : 0;
    }

    private static bool Failed(Summary summary) =>
        summary.HasCriticalValidationErrors
        || summary.Reports.Any(r => !r.BuildResult.IsBuildSuccess || !r.Success || r.ResultStatistics is null);
}
