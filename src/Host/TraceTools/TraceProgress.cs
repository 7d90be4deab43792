using System.Diagnostics;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// A one-line status that long trace work keeps up to date on an interactive console (standard error when it is a
/// terminal): rewritten in place at most every <c>interval</c>, erased before any other line is written to the same
/// stream and when the work ends, so that it never stays in the output. Off (every call does nothing) otherwise.
/// </summary>
public sealed class TraceProgress
{
    private readonly TextWriter? _console;
    private readonly TimeSpan _interval;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _last = TimeSpan.MinValue;
    private bool _shown;

    /// <summary>A status shown on <paramref name="console"/>, rewritten at most every <paramref name="interval"/>.</summary>
    public TraceProgress(TextWriter console, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(console);
        _console = console;
        _interval = interval;
    }

    private TraceProgress()
    {
    }

    /// <summary>Shows nothing.</summary>
    public static TraceProgress None { get; } = new();

    /// <summary>
    /// A status on <paramref name="stderr"/> when it is the process's standard error and that is a terminal (and, when
    /// <paramref name="alsoNeedsRedirectedOutput"/>, standard output is not: a command whose lines go to the terminal
    /// shows its progress by them); otherwise <see cref="None"/>.
    /// </summary>
    public static TraceProgress ForConsole(TextWriter stderr, bool alsoNeedsRedirectedOutput = false) =>
        ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected && (!alsoNeedsRedirectedOutput || Console.IsOutputRedirected)
            ? new TraceProgress(stderr, TimeSpan.FromMilliseconds(250))
            : None;

    /// <summary>Whether anything is ever shown.</summary>
    public bool Enabled => _console is not null;

    /// <summary>Shows the text <paramref name="status"/> makes, unless the last one was shown less than the interval ago.</summary>
    public void Report(Func<string> status)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (_console is null)
        {
            return;
        }
        var now = _clock.Elapsed;
        if (_last != TimeSpan.MinValue && now - _last < _interval)
        {
            return;
        }
        _last = now;
        _console.Write("\r" + status() + "\u001b[K");
        _console.Flush();
        _shown = true;
    }

    /// <summary>Erases the status line, if one is shown.</summary>
    public void Clear()
    {
        if (_console is null || !_shown)
        {
            return;
        }
        _console.Write("\r\u001b[K");
        _console.Flush();
        _shown = false;
    }

    /// <summary>Writes a line to the status's stream (<paramref name="writer"/>) after erasing the status.</summary>
    public void WriteLine(TextWriter writer, string line)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (ReferenceEquals(writer, _console))
        {
            Clear();
        }
        writer.WriteLine(line);
    }
}
