using System.Diagnostics;
using System.Globalization;
using VApicActors.Actors;
using VApicActors.Host.Service;

namespace VApicActors.Host.Client;

/// <summary>
/// A load generator for a running service: each session makes its own one-vCPU VM, software-enables its
/// APIC, then sends lock-step requests — alternately a TPR write and a TPR read (<c>writel 0xfee00080 ..</c>,
/// <c>readl 0xfee00080</c>), each a full round trip through the vAPIC actor — timing every round trip.
/// A warm-up of the same requests runs first and is not counted. A request not answered within the request
/// timeout ends the measurement with a <see cref="TimeoutException"/>.
/// </summary>
public static class ClientBenchmark
{
    private const string TprWrite = "writel 0xfee00080 0x";
    private const string TprRead = "readl 0xfee00080";

    /// <exception cref="TimeoutException">A request had no answer within <paramref name="requestTimeout"/>, or the connection took longer than the connect timeout.</exception>
    public static async Task<BenchmarkResult> RunAsync(HostPort endpoint, int sessions, int requestsPerSession, int warmupPerSession, TimeSpan requestTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sessions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requestTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerSession, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupPerSession);

        var connections = new ServiceConnection[sessions];
        try
        {
            for (var s = 0; s < sessions; s++)
            {
                try
                {
                    connections[s] = await ServiceConnection.ConnectAsync(endpoint, ServiceClient.ConnectTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"cannot connect: no connection within {ServiceClient.ConnectTimeout.TotalSeconds:0.#} s"));
                }
                await ExpectOkAsync(connections[s], "vm vcpus=1", requestTimeout, cancellationToken).ConfigureAwait(false);
                await ExpectOkAsync(connections[s], "writel 0xfee000f0 0x1ff", requestTimeout, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < warmupPerSession; i++)
                {
                    await ExpectOkAsync(connections[s], Request(i), requestTimeout, cancellationToken).ConfigureAwait(false);
                }
            }

            // Round trips as histograms: memory stays fixed however many requests are timed (256 sessions of 10 million
            // requests kept as times would take 20 GB).
            var latencies = new LatencyRecorder[sessions];
            var clock = Stopwatch.StartNew();
            var runs = new Task[sessions];
            for (var s = 0; s < sessions; s++)
            {
                var connection = connections[s];
                var times = latencies[s] = new LatencyRecorder();
                runs[s] = Task.Run(async () =>
                {
                    for (var i = 0; i < requestsPerSession; i++)
                    {
                        var t0 = Stopwatch.GetTimestamp();
                        await ExpectOkAsync(connection, Request(i), requestTimeout, cancellationToken).ConfigureAwait(false);
                        times.Record((long)Stopwatch.GetElapsedTime(t0).TotalNanoseconds);
                    }
                }, cancellationToken);
            }
            await Task.WhenAll(runs).ConfigureAwait(false);
            var elapsed = clock.Elapsed;

            var all = LatencyHistogram.Merge(latencies.Select(l => l.Snapshot()));
            return new BenchmarkResult(sessions, all.Count, elapsed, Nanoseconds(all.Percentile(0.50)), Nanoseconds(all.Percentile(0.99)));
        }
        finally
        {
            foreach (var connection in connections)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private static string Request(int i) => (i & 1) == 0
        ? TprWrite + ((i >> 1) & 0xF0).ToString("x2", CultureInfo.InvariantCulture)
        : TprRead;

    private static async Task ExpectOkAsync(ServiceConnection connection, string request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string? answer;
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            limit.CancelAfter(timeout);
            try
            {
                answer = await connection.RequestAsync(request, null, limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"'{request}' had no answer within {timeout.TotalSeconds:0.#} s"));
            }
        }
        if (answer is null || !answer.StartsWith(ServiceResponse.Ok, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"'{request}' was answered '{answer ?? "(connection closed)"}'");
        }
    }

    private static TimeSpan Nanoseconds(long ns) => TimeSpan.FromTicks(ns / TimeSpan.NanosecondsPerTick);
}
