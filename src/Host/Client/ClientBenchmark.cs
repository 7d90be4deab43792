using System.Diagnostics;
using System.Globalization;
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

            var latencies = new long[sessions][];
            var clock = Stopwatch.StartNew();
            var runs = new Task[sessions];
            for (var s = 0; s < sessions; s++)
            {
                var connection = connections[s];
                var times = latencies[s] = new long[requestsPerSession];
                runs[s] = Task.Run(async () =>
                {
                    for (var i = 0; i < times.Length; i++)
                    {
                        var t0 = Stopwatch.GetTimestamp();
                        await ExpectOkAsync(connection, Request(i), requestTimeout, cancellationToken).ConfigureAwait(false);
                        times[i] = Stopwatch.GetTimestamp() - t0;
                    }
                }, cancellationToken);
            }
            await Task.WhenAll(runs).ConfigureAwait(false);
            var elapsed = clock.Elapsed;

            var all = latencies.SelectMany(l => l).ToArray();
            Array.Sort(all);
            return new BenchmarkResult(sessions, all.LongLength, elapsed, Percentile(all, 0.50), Percentile(all, 0.99));
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

    private static TimeSpan Percentile(long[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return TimeSpan.Zero;
        }
        var index = Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1);
        return TimeSpan.FromSeconds((double)sorted[index] / Stopwatch.Frequency);
    }
}
