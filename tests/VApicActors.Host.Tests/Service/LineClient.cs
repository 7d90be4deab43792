using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VApicActors.Host.Tests.Service;

/// <summary>A raw test client: sends bytes or lines, reads lines with a deadline.</summary>
internal sealed class LineClient : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private LineClient(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new StreamReader(_stream, new UTF8Encoding(false), false);
    }

    public Socket Socket => _client.Client;

    /// <summary>How long one line may take to arrive.</summary>
    public TimeSpan Timeout { get; set; } = Deadline;

    public static async Task<LineClient> ConnectAsync(IPEndPoint endpoint, int? receiveBuffer = null)
    {
        var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        if (receiveBuffer is int size)
        {
            client.ReceiveBufferSize = size;
        }
        await client.ConnectAsync(endpoint.Address, endpoint.Port);
        return new LineClient(client);
    }

    public Task SendRawAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public Task SendAsync(string line) => SendRawAsync(Encoding.UTF8.GetBytes(line + "\n"));

    /// <summary>The next line, or null at the end of the stream (or a reset).</summary>
    public async Task<string?> ReadLineAsync()
    {
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            return await _reader.ReadLineAsync(deadline.Token);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The next line that is not an interrupt (or <c>LOST</c>) line; those go to <paramref name="interrupts"/>.</summary>
    public async Task<string?> ReadAnswerAsync(List<string>? interrupts = null)
    {
        while (true)
        {
            var line = await ReadLineAsync();
            if (line is null || !(line.StartsWith("IRQ ", StringComparison.Ordinal) || line.StartsWith("LOST ", StringComparison.Ordinal)))
            {
                return line;
            }
            interrupts?.Add(line);
        }
    }

    public async Task<string?> RequestAsync(string line, List<string>? interrupts = null)
    {
        await SendAsync(line);
        return await ReadAnswerAsync(interrupts);
    }

    /// <summary>Reads lines until one satisfies <paramref name="match"/>; fails the test at the deadline.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        while (true)
        {
            var line = await ReadLineAsync();
            Assert.NotNull(line);
            if (match(line))
            {
                return line;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
