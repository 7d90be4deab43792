using System.Net.Sockets;
using System.Text;
using VApicActors.Host.Service;

namespace VApicActors.Host.Client;

/// <summary>
/// A connection to a running service: send a request line, read the answer. Interrupt lines that arrive
/// in between are handed to a callback and never taken for answers.
/// </summary>
public sealed class ServiceConnection : IAsyncDisposable
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly TcpClient _client;
    private readonly StreamReader _reader;
    private readonly Stream _stream;

    private ServiceConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new StreamReader(_stream, Utf8, detectEncodingFromByteOrderMarks: false);
    }

    /// <summary>Connects to <paramref name="endpoint"/> within <paramref name="timeout"/>.</summary>
    /// <exception cref="SocketException">Nothing listens there, or the host is unknown.</exception>
    /// <exception cref="OperationCanceledException">The connection took longer than <paramref name="timeout"/>.</exception>
    public static async Task<ServiceConnection> ConnectAsync(HostPort endpoint, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var client = new TcpClient { NoDelay = true };
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            await client.ConnectAsync(endpoint.Host, endpoint.Port, limit.Token).ConfigureAwait(false);
            return new ServiceConnection(client);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Sends one request line.</summary>
    public async Task SendAsync(string line, CancellationToken cancellationToken = default)
    {
        var bytes = Utf8.GetBytes(line + "\n");
        await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the next answer, passing interrupt and loss lines (<c>IRQ ...</c>, <c>LOST ...</c>) to <paramref name="onInterrupt"/>.
    /// Null when the service closed the connection.
    /// </summary>
    public async Task<string?> ReadAnswerAsync(Action<string>? onInterrupt, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line is null || !ServiceResponse.IsUnsolicited(line))
            {
                return line;
            }
            onInterrupt?.Invoke(line);
        }
    }

    /// <summary>Sends a request and reads its answer.</summary>
    public async Task<string?> RequestAsync(string line, Action<string>? onInterrupt = null, CancellationToken cancellationToken = default)
    {
        await SendAsync(line, cancellationToken).ConfigureAwait(false);
        return await ReadAnswerAsync(onInterrupt, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
