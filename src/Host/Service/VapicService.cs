using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Serilog;
using VApicActors.Actors;

using VApicActors.Host.Cluster;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Service;

/// <summary>
/// The simulation service: a TCP listener whose every connection is a session speaking the scenario
/// language one request per line (see <c>docs/service.md</c>). Sessions run independently of one another;
/// VMs are kept in a <see cref="VmRegistry"/>. <see cref="StopAsync"/> ends every session with
/// <c>BYE shutting down</c> and stops every VM.
/// </summary>
public sealed class VapicService : IAsyncDisposable
{
    private const int Backlog = 512;
    private static readonly TimeSpan TickPeriod = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RefusalWriteTimeout = TimeSpan.FromSeconds(1);

    private readonly ActorSystem _system;
    private readonly ServiceSettings _settings;
    private readonly ITraceSink? _trace;
    private readonly ILogger _log;
    private readonly Action<string> _report;
    private readonly TcpListener _listener;
    private readonly ConcurrentDictionary<long, (ServiceSession Session, Task Run)> _sessions = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _stopLock = new();
    private Task? _acceptLoop;
    private Task? _ticker;
    private Task? _stopped;
    private long _nextSessionId;

    private VapicService(ActorSystem system, ServiceSettings settings, ITraceSink? trace, ILogger log, Action<string>? report, TcpListener listener, VmShards? cluster)
    {
        Cluster = cluster;
        _system = system;
        _settings = settings;
        _trace = trace;
        _log = log;
        _report = report ?? (line => log.Information("{ServiceStatus}", line));
        _listener = listener;
        Vms = new VmRegistry(system, settings, trace);
    }

    /// <summary>The address and port the service listens on (the port the system chose, for port 0).</summary>
    public IPEndPoint LocalEndpoint => (IPEndPoint)_listener.LocalEndpoint;

    public ServiceSettings Settings => _settings;

    /// <summary>The node's VM shards in cluster mode, else null.</summary>
    public VmShards? Cluster { get; }

    /// <summary>The VMs the service runs.</summary>
    public VmRegistry Vms { get; }

    /// <summary>The service's counters.</summary>
    public ServiceStats Stats { get; } = new();

    /// <summary>What <c>stats</c> would answer now.</summary>
    public ServiceStatsSnapshot Snapshot() => Cluster is { } cluster ? Stats.Snapshot(cluster.Hosted) : Stats.Snapshot(Vms);

    /// <summary>
    /// Binds <see cref="ServiceSettings.Listen"/> and starts accepting sessions. <paramref name="report"/> receives
    /// the statistics line written every <c>stats-log-interval</c> while requests arrive (default: the log, at
    /// Information level).
    /// </summary>
    /// <exception cref="SocketException">The address cannot be bound (in use, not local, ...).</exception>
    /// <param name="cluster">In cluster mode, the node's VM shards: sessions then drive VMs anywhere in the cluster.</param>
    public static VapicService Start(ActorSystem system, ServiceSettings settings, ITraceSink? trace = null, ILogger? log = null, Action<string>? report = null, VmShards? cluster = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.Listen.TryGetListenAddress(out var address))
        {
            throw new ArgumentException($"cannot listen on \"{settings.Listen.Host}\": an IP address or localhost is needed", nameof(settings));
        }
        log ??= Log.ForContext<VapicService>();

        // In cluster mode the limits on VMs apply where VMs live: to the VMs created on this node.
        cluster?.Limit(settings.MaxVcpus, settings.MaxNamedVms);
        var listener = new TcpListener(address, settings.Listen.Port);
        listener.Start(Backlog);
        var service = new VapicService(system, settings, trace, log, report, listener, cluster);
        if (!IPAddress.IsLoopback(address))
        {
            log.Warning("The service listens on {Endpoint}, which is not a loopback address: other machines can reach it", service.LocalEndpoint);
        }
        service._acceptLoop = Task.Run(service.AcceptAsync);
        service._ticker = Task.Run(service.TickAsync);
        log.Information("Service listening on {Endpoint}", service.LocalEndpoint);
        return service;
    }

    /// <summary>
    /// Stops accepting, closes every session in order (the request running finishes, requests read but not
    /// started are answered <c>ERR the service is shutting down</c>, the last line is <c>BYE shutting down</c>),
    /// then stops every VM. Sessions that do not finish within <c>shutdown-timeout</c> are cut off.
    /// </summary>
    public Task StopAsync()
    {
        lock (_stopLock)
        {
            return _stopped ??= StopCoreAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task StopCoreAsync()
    {
        _log.Information("Service stopping: {Sessions} sessions", _sessions.Count);
        _stopping.Cancel();
        _listener.Stop();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        var sessions = _sessions.Values.ToArray();
        foreach (var (session, _) in sessions)
        {
            session.Close("shutting down", shutdown: true);
        }
        var all = Task.WhenAll(sessions.Select(s => s.Run));
        if (await Task.WhenAny(all, Task.Delay(_settings.ShutdownTimeout)).ConfigureAwait(false) != all)
        {
            _log.Warning("Service stopping: {Sessions} sessions did not end within {Timeout}; cutting them off", _sessions.Count, _settings.ShutdownTimeout);
            foreach (var (session, _) in _sessions.Values)
            {
                session.Abort("shutting down");
            }
            await all.ConfigureAwait(false);
        }

        var vms = Vms.StopAllAsync();
        if (await Task.WhenAny(vms, Task.Delay(_settings.ShutdownTimeout)).ConfigureAwait(false) != vms)
        {
            _log.Warning("Service stopping: VMs did not stop within {Timeout}", _settings.ShutdownTimeout);
        }
        if (_ticker is not null)
        {
            await _ticker.ConfigureAwait(false);
        }
        _stopping.Dispose();
        _log.Information("Service stopped after {Requests} requests", Stats.Requests);
    }

    private async Task AcceptAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // A connection that failed while being accepted concerns only itself.
                _log.Debug(e, "A connection failed while being accepted");
                continue;
            }

            try
            {
                socket.NoDelay = true;
                if (Stats.Sessions >= _settings.MaxSessions)
                {
                    Stats.Refused();
                    _ = RefuseAsync(socket);
                    continue;
                }
                var id = Interlocked.Increment(ref _nextSessionId);
                var session = Cluster is { } cluster
                    ? new ServiceSession(id, socket, _system, Vms, Stats, _settings, _trace, _log,
                        watcher => new ClusterSessionExecutor(id, _system, cluster, Stats, _settings, watcher, _log))
                    : new ServiceSession(id, socket, _system, Vms, Stats, _settings, _trace, _log);
                Stats.SessionOpened();
                var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var run = Task.Run(async () =>
                {
                    await registered.Task.ConfigureAwait(false);
                    var counted = 1;
                    // A session that said BYE frees its place under max-sessions at once, not after it has lingered.
                    void Release()
                    {
                        if (Interlocked.Exchange(ref counted, 0) == 1)
                        {
                            Stats.SessionClosed();
                        }
                    }
                    try
                    {
                        await session.RunAsync(Release).ConfigureAwait(false);
                    }
                    finally
                    {
                        Release();
                        _sessions.TryRemove(id, out _);
                    }
                });
                _sessions[id] = (session, run);
                registered.SetResult();
            }
            catch (Exception e)
            {
                _log.Error(e, "A session could not be started");
                socket.Dispose();
            }
        }
    }

    private async Task RefuseAsync(Socket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(RefusalWriteTimeout);
            var line = Encoding.UTF8.GetBytes(ServiceResponse.Bye($"too many sessions (at most {_settings.MaxSessions})") + "\n");
            await socket.SendAsync(line, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The refused client is gone already.
        }
        finally
        {
            socket.Dispose();
        }
        _log.Warning("Refused a connection: {Sessions} sessions are connected (max-sessions)", _settings.MaxSessions);
    }

    private void Report(ServiceStatsSnapshot snapshot)
    {
        try
        {
            _report(string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"service: {Plural.Count(snapshot.Sessions, "session")}, {Plural.Count(snapshot.Vms, "VM")}, {Plural.Count(snapshot.Vcpus, "vCPU")}, {Plural.Count(snapshot.Requests, "request")} ({snapshot.RequestsPerSecond:0.#}/s), {Plural.Count(snapshot.Errors, "error")}, {Plural.Count(snapshot.Failed, "failed expectation")}"));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _log.Warning(e, "The statistics line could not be written");
        }
    }

    /// <summary>Every second: the request rate, idle sessions, and every stats-log-interval a log line if busy.</summary>
    private async Task TickAsync()
    {
        using var timer = new PeriodicTimer(TickPeriod);
        var token = _stopping.Token;
        var lastLog = Stopwatch.GetTimestamp();
        var lastLoggedRequests = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                Stats.Sample();
                var now = Stopwatch.GetTimestamp();
                foreach (var (session, _) in _sessions.Values)
                {
                    session.CheckIdle(now);
                }
                if (Stopwatch.GetElapsedTime(lastLog, now) >= _settings.StatsLogInterval)
                {
                    lastLog = now;
                    var snapshot = Snapshot();
                    if (snapshot.Requests != lastLoggedRequests)
                    {
                        Report(snapshot);
                    }
                    lastLoggedRequests = snapshot.Requests;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (Exception e)
        {
            _log.Error(e, "The service's periodic work failed; statistics and idle checks have stopped");
        }
    }
}
