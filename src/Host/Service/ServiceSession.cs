using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Serilog;
using VApicActors.Actors;

namespace VApicActors.Host.Service;

/// <summary>
/// One connection. Three loops share the work: the reader cuts the byte stream into lines (bounded, see
/// <see cref="LineFramer"/>) and queues them, waiting while <c>max-requests-in-flight</c> are unanswered —
/// so a flooding client is held back by TCP itself; the processor runs them in order through a
/// <see cref="SessionExecutor"/> and queues each answer; the writer sends queued lines. The outgoing queue
/// is bounded (<c>max-queued-lines</c>): a full queue holds the processor back, a write that blocks longer
/// than <c>write-timeout</c> or an interrupt line that finds the queue full ends the session as a slow
/// consumer. Nothing a client does escapes its session: every loop catches and logs its own failures.
/// </summary>
internal sealed class ServiceSession : IInterruptWatcher
{
    private const int ReadBufferSize = 16 * 1024;
    private const int WriteBatchBytes = 64 * 1024;
    private const int MaxLingerBytes = 1024 * 1024;
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(1);
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly ServiceSettings _settings;
    private readonly ServiceStats _stats;
    private readonly ITraceSink? _trace;
    private readonly ILogger _log;
    private readonly ISessionExecutor _executor;
    private readonly Channel<FramedLine> _requests = Channel.CreateUnbounded<FramedLine>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Channel<string> _outbound;
    private readonly SemaphoreSlim _inFlight;
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly object _closeLock = new();
    private readonly object _outboundLock = new();
    private long _lastActivity = Stopwatch.GetTimestamp();
    private int _pending;
    private string? _closeReason;
    private bool _shuttingDown;
    private volatile bool _outboundDone;
    private long _seq;

    public ServiceSession(long id, Socket socket, ActorSystem system, VmRegistry registry, ServiceStats stats, ServiceSettings settings, ITraceSink? trace, ILogger log,
        Func<IInterruptWatcher, ISessionExecutor>? executor = null)
    {
        Id = id;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _settings = settings;
        _stats = stats;
        _trace = trace;
        _log = log;
        Remote = socket.RemoteEndPoint?.ToString() ?? "?";
        _outbound = Channel.CreateBounded<string>(new BoundedChannelOptions(settings.MaxQueuedLines)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _inFlight = new SemaphoreSlim(settings.MaxRequestsInFlight, settings.MaxRequestsInFlight);
        _executor = executor?.Invoke(this) ?? new SessionExecutor(id, system, registry, stats, settings, trace, this, log);
    }

    public long Id { get; }

    public string Remote { get; }

    /// <summary>Runs the session to its end. Never throws.</summary>
    /// <param name="released">Called once the session has answered its last request and let go of its VM, before it
    /// lingers for the client to read the last lines: from then on it no longer counts as a session.</param>
    public async Task RunAsync(Action? released = null)
    {
        _log.Information("Session {SessionId} opened from {Remote}", Id, Remote);
        var reader = Guard("reader", ReadAsync);
        var processor = Guard("processor", ProcessAsync);
        var writer = Guard("writer", WriteAsync);
        await Task.WhenAll(reader, processor, writer).ConfigureAwait(false);

        try
        {
            await _executor.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _log.Error(e, "Session {SessionId}: releasing its VM failed", Id);
        }
        released?.Invoke();
        await LingerAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _stopReading.Dispose();
        _abort.Dispose();
        _log.Information("Session {SessionId} closed ({Reason})", Id, _closeReason ?? "client left");
    }

    /// <summary>
    /// Ends the session in order: no more requests are read, the one running finishes, and the client gets
    /// <c>BYE reason</c> as its last line. When <paramref name="shutdown"/> is set, requests already read but
    /// not started are answered <c>ERR the service is shutting down</c> instead of being run.
    /// </summary>
    public void Close(string reason, bool shutdown = false)
    {
        lock (_closeLock)
        {
            _closeReason ??= reason;
            _shuttingDown |= shutdown;
        }
        Cancel(_stopReading);
    }

    /// <summary>Ends the session at once, without a last line (slow consumer, or shutdown taking too long).</summary>
    public void Abort(string reason)
    {
        lock (_closeLock)
        {
            _closeReason ??= reason;
        }
        Cancel(_stopReading);
        Cancel(_abort);
        try
        {
            _socket.Close();
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
    }

    /// <summary>Closes the session with <c>BYE idle timeout</c> when it has had no request for <c>idle-timeout</c> and none is running.</summary>
    public void CheckIdle(long now)
    {
        if (Volatile.Read(ref _pending) == 0 && Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastActivity), now) >= _settings.IdleTimeout)
        {
            Close("idle timeout");
        }
    }

    void IInterruptWatcher.OnInterrupt(int vcpu, int vector) => Unsolicited(ServiceResponse.Irq(vcpu, vector));

    void IInterruptWatcher.OnNotice(string line) => Unsolicited(line);

    private void Unsolicited(string line)
    {
        lock (_outboundLock)
        {
            if (_outboundDone || _outbound.Writer.TryWrite(line))
            {
                return;
            }
            // Said once: the lines that follow find the session closed.
            _outboundDone = true;
        }
        _log.Warning("Session {SessionId}: its queue of outgoing lines is full; closing it as a slow consumer", Id);
        Abort("slow consumer");
    }

    private async Task ReadAsync()
    {
        var framer = new LineFramer(_settings.MaxLineLength);
        var lines = new List<FramedLine>();
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        try
        {
            var token = _stopReading.Token;
            while (!token.IsCancellationRequested)
            {
                int read;
                try
                {
                    read = await _stream.ReadAsync(buffer.AsMemory(0, ReadBufferSize), token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
                {
                    break;
                }
                if (read == 0)
                {
                    break;
                }
                lines.Clear();
                framer.Feed(buffer.AsSpan(0, read), lines);
                if (lines.Count > 0)
                {
                    // Only a whole line is a request: bytes of one that never ends (a byte a minute) do not keep a session.
                    Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());
                }
                foreach (var line in lines)
                {
                    // Held here while the session has its maximum of unanswered requests.
                    await _inFlight.WaitAsync(token).ConfigureAwait(false);
                    Interlocked.Increment(ref _pending);
                    _requests.Writer.TryWrite(line);
                }
            }
            if (framer.HasPartialLine)
            {
                _log.Debug("Session {SessionId}: an unfinished line was dropped at the end of its input", Id);
            }
        }
        catch (OperationCanceledException)
        {
            // Closed or aborted while waiting for room.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _requests.Writer.TryComplete();
        }
    }

    private async Task ProcessAsync()
    {
        try
        {
            await foreach (var request in _requests.Reader.ReadAllAsync(_abort.Token).ConfigureAwait(false))
            {
                string response;
                var line = request.Text;
                if (Volatile.Read(ref _shuttingDown))
                {
                    response = ServiceResponse.Error("the service is shutting down");
                }
                else if (!request.IsValid)
                {
                    response = ServiceResponse.Error(request.Error!);
                }
                else
                {
                    response = await _executor.ExecuteAsync(line!).ConfigureAwait(false);
                }
                _stats.Answered(response);
                TraceRequest(line ?? "(unreadable line)", response);
                if (_executor.QuitRequested)
                {
                    lock (_closeLock)
                    {
                        _closeReason ??= "quit";
                    }
                    Cancel(_stopReading);
                    // BYE goes out only once no interrupt line can follow it.
                    await FinishOutboundAsync(response).ConfigureAwait(false);
                    return;
                }
                await _outbound.Writer.WriteAsync(response, _abort.Token).ConfigureAwait(false);
                Interlocked.Decrement(ref _pending);
                Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());
                _inFlight.Release();
            }
            string? reason;
            lock (_closeLock)
            {
                reason = _closeReason;
            }
            await FinishOutboundAsync(reason is null ? null : ServiceResponse.Bye(reason)).ConfigureAwait(false);
        }
        finally
        {
            _outboundDone = true;
            _outbound.Writer.TryComplete();
        }
    }

    /// <summary>Stops interrupt lines, then queues the last line (if any) so that nothing follows it.</summary>
    private async Task FinishOutboundAsync(string? last)
    {
        await _executor.DisposeAsync().ConfigureAwait(false);
        lock (_outboundLock)
        {
            // An interrupt line being queued now goes before the last line; any later one is dropped.
            _outboundDone = true;
        }
        if (last is not null)
        {
            await _outbound.Writer.WriteAsync(last, _abort.Token).ConfigureAwait(false);
        }
    }

    private async Task WriteAsync()
    {
        var reader = _outbound.Reader;
        var batch = new ArrayBufferWriter<byte>(WriteBatchBytes);
        try
        {
            while (await reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
            {
                batch.ResetWrittenCount();
                while (batch.WrittenCount < WriteBatchBytes && reader.TryRead(out var line))
                {
                    Utf8.GetBytes(line, batch);
                    batch.GetSpan(1)[0] = (byte)'\n';
                    batch.Advance(1);
                }
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
                timeout.CancelAfter(_settings.WriteTimeout);
                try
                {
                    await _stream.WriteAsync(batch.WrittenMemory, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
                {
                    _log.Warning("Session {SessionId}: a write blocked for {WriteTimeout}; closing it as a slow consumer", Id, _settings.WriteTimeout);
                    Abort("slow consumer");
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The client left or the session was aborted: the other loops stop on the abort.
            Abort(_closeReason ?? "client left");
        }
    }

    /// <summary>
    /// Ends the sending side, then reads and drops what the client still sends for a short while, so that
    /// closing does not reset the connection before the client has read the last lines.
    /// </summary>
    private async Task LingerAsync()
    {
        if (_abort.IsCancellationRequested)
        {
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            using var linger = new CancellationTokenSource(LingerTime);
            var drained = 0;
            while (drained < MaxLingerBytes)
            {
                var read = await _stream.ReadAsync(buffer.AsMemory(0, ReadBufferSize), linger.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                drained += read;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The client is gone or keeps sending: close anyway.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void TraceRequest(string line, string response)
    {
        var seq = Interlocked.Increment(ref _seq);
        if (!_settings.TraceRequests || _trace is not { Enabled: true } trace)
        {
            return;
        }
        trace.Write(new TraceEvent(
            _executor.VmName ?? "-",
            _executor.SelectedApicId,
            seq,
            "ServiceRequest",
            -1,
            Detail: $"session={Id} request=\"{Quoted(ServiceResponse.OneLine(line))}\" response=\"{Quoted(response)}\""));
    }

    /// <summary>A request or answer inside the quotes of a traced <c>Detail</c>: its backslashes and quotes escaped by a backslash.</summary>
    private static string Quoted(string text) =>
        text.Contains('"') || text.Contains('\\') ? text.Replace("\\", "\\\\").Replace("\"", "\\\"") : text;

    private async Task Guard(string loop, Func<Task> body)
    {
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            // Stopped by an abort.
        }
        catch (Exception e)
        {
            _log.Error(e, "Session {SessionId}: its {Loop} failed; closing the session", Id, loop);
            Abort("internal error");
        }
    }

    private static void Cancel(CancellationTokenSource cts)
    {
        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session already ended.
        }
    }
}
