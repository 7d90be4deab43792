using System.Globalization;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Client;

/// <summary>What one benchmark run measured.</summary>
/// <param name="Sessions">Concurrent sessions.</param>
/// <param name="Requests">Requests answered over all sessions (timed part only).</param>
/// <param name="Elapsed">Wall time of the timed part.</param>
/// <param name="P50">Median round trip of one request.</param>
/// <param name="P99">99th percentile round trip.</param>
public sealed record BenchmarkResult(int Sessions, long Requests, TimeSpan Elapsed, TimeSpan P50, TimeSpan P99)
{
    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;

    public string Text => string.Create(CultureInfo.InvariantCulture,
        $"{Plural.Count(Sessions, "session")}: {Plural.Count(Requests, "request")} in {Elapsed.TotalSeconds:0.00} s = {RequestsPerSecond:0} requests/s; round trip p50 {P50.TotalMicroseconds:0} us, p99 {P99.TotalMicroseconds:0} us");
}
