using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// One timeline event, already written as JSON except for its process and thread ids (which are only known once the
/// whole trace has been read), with the key that orders the timeline: time, trace line, part of that line, arrow id.
/// </summary>
/// <param name="TimeNs">Where it is drawn, in virtual nanoseconds.</param>
/// <param name="Line">The trace line it comes from.</param>
/// <param name="Part">Its rank among the events of that line.</param>
/// <param name="FlowId">Its arrow id (0 for an event that is not an arrow end).</param>
/// <param name="Track">The APIC it is drawn on, numbered in the order the APICs first appear.</param>
/// <param name="IdsAt">Where in <paramref name="Json"/> the <c>pid</c> and <c>tid</c> go.</param>
/// <param name="Json">The event as a JSON object without its <c>pid</c> and <c>tid</c>.</param>
internal readonly record struct SortableChromeEvent(long TimeNs, int Line, int Part, long FlowId, int Track, int IdsAt, byte[] Json)
{
    public static int Compare(SortableChromeEvent a, SortableChromeEvent b)
    {
        var c = a.TimeNs.CompareTo(b.TimeNs);
        if (c != 0) return c;
        c = a.Line.CompareTo(b.Line);
        if (c != 0) return c;
        c = a.Part.CompareTo(b.Part);
        return c != 0 ? c : a.FlowId.CompareTo(b.FlowId);
    }
}

/// <summary>
/// Puts timeline events in order in bounded memory: events are held until they take <c>runBytes</c>, then sorted
/// and written as one run to a temporary file (deleted when the sorter is disposed); reading merges the runs. A
/// timeline that fits in one run never touches the disk. The key is total (no two events share it), so the order
/// does not depend on how the events were split into runs.
/// </summary>
internal sealed class ChromeEventSorter : IDisposable
{
    /// <summary>Bytes one held event costs beyond its JSON.</summary>
    private const int EntryOverhead = 64;

    private const int HeaderSize = 8 + 4 + 4 + 8 + 4 + 4 + 4;

    private readonly long _runBytes;
    private readonly string _directory;
    private readonly List<SortableChromeEvent> _held = new();
    private readonly List<(long Offset, long Length)> _runs = new();
    private long _heldBytes;
    private FileStream? _spill;
    private bool _reading;

    public ChromeEventSorter(long runBytes, string directory)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runBytes, 1);
        _runBytes = runBytes;
        _directory = directory;
    }

    /// <summary>Events added so far.</summary>
    public long Count { get; private set; }

    /// <summary>Events held in memory (not yet written to a run).</summary>
    public int Held => _held.Count;

    /// <summary>The most events ever held in memory at once.</summary>
    public int MostHeld { get; private set; }

    /// <summary>Runs written to the temporary file.</summary>
    public int Runs => _runs.Count;

    public void Add(SortableChromeEvent e)
    {
        if (_reading)
        {
            throw new InvalidOperationException("the sorter is already being read");
        }
        _held.Add(e);
        Count++;
        MostHeld = Math.Max(MostHeld, _held.Count);
        _heldBytes += e.Json.Length + EntryOverhead;
        if (_heldBytes >= _runBytes)
        {
            Spill();
        }
    }

    /// <summary>Every event added, in key order. Call once, after the last <see cref="Add"/>.</summary>
    public IEnumerable<SortableChromeEvent> Sorted()
    {
        _reading = true;
        _held.Sort(SortableChromeEvent.Compare);
        if (_runs.Count == 0)
        {
            return _held;
        }
        if (_held.Count > 0)
        {
            Spill();
        }
        try
        {
            _spill!.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TemporaryFileException(_directory, e);
        }
        return Merge(_spill.SafeFileHandle);
    }

    public void Dispose()
    {
        _spill?.Dispose();
        _spill = null;
    }

    private IEnumerable<SortableChromeEvent> Merge(SafeFileHandle file)
    {
        // Each run reads through a buffer of its own; together they take about one run's worth of memory.
        var bufferSize = (int)Math.Clamp(_runBytes / _runs.Count, 4096, 1 << 20);
        var queue = new PriorityQueue<RunReader, SortableChromeEvent>(Comparer<SortableChromeEvent>.Create(SortableChromeEvent.Compare));
        foreach (var (offset, length) in _runs)
        {
            var reader = new RunReader(file, _directory, offset, length, bufferSize);
            if (reader.TryRead(out var first))
            {
                queue.Enqueue(reader, first);
            }
        }
        while (queue.TryDequeue(out var reader, out var next))
        {
            yield return next;
            if (reader.TryRead(out var following))
            {
                queue.Enqueue(reader, following);
            }
        }
    }

    /// <summary>The temporary file that holds the runs could not be written or read back.</summary>
    public sealed class TemporaryFileException(string directory, Exception inner)
        : Exception($"cannot use a temporary file in {directory}: {inner.Message}", inner);

    private void Spill()
    {
        try
        {
            WriteRun();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TemporaryFileException(_directory, e);
        }
    }

    private void WriteRun()
    {
        _held.Sort(SortableChromeEvent.Compare);
        _spill ??= OpenSpill(_directory);
        var start = _spill.Position;
        Span<byte> header = stackalloc byte[HeaderSize];
        foreach (var e in _held)
        {
            BinaryPrimitives.WriteInt64LittleEndian(header, e.TimeNs);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], e.Line);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], e.Part);
            BinaryPrimitives.WriteInt64LittleEndian(header[16..], e.FlowId);
            BinaryPrimitives.WriteInt32LittleEndian(header[24..], e.Track);
            BinaryPrimitives.WriteInt32LittleEndian(header[28..], e.IdsAt);
            BinaryPrimitives.WriteInt32LittleEndian(header[32..], e.Json.Length);
            _spill.Write(header);
            _spill.Write(e.Json);
        }
        _runs.Add((start, _spill.Position - start));
        _held.Clear();
        _heldBytes = 0;
    }

    /// <summary>
    /// The temporary file, deleted when closed; outside Windows its name is removed at once (the open file stays
    /// usable), so that an export ended by Ctrl-C or a kill leaves nothing behind.
    /// </summary>
    internal static FileStream OpenSpill(string directory)
    {
        var path = Path.Combine(directory, "vapic-export-" + Guid.NewGuid().ToString("N") + ".tmp");
        var spill = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose);
        if (!OperatingSystem.IsWindows())
        {
            File.Delete(path);
        }
        return spill;
    }

    /// <summary>Reads one run of the temporary file back, record by record.</summary>
    private sealed class RunReader(SafeFileHandle file, string directory, long offset, long length, int bufferSize)
    {
        private readonly byte[] _buffer = new byte[bufferSize];
        private long _next = offset;
        private readonly long _end = offset + length;
        private int _start;
        private int _count;

        public bool TryRead(out SortableChromeEvent e)
        {
            e = default;
            if (!Fill(HeaderSize))
            {
                return false;
            }
            var header = _buffer.AsSpan(_start, HeaderSize);
            var jsonLength = BinaryPrimitives.ReadInt32LittleEndian(header[32..]);
            var json = new byte[jsonLength];
            e = new SortableChromeEvent(
                BinaryPrimitives.ReadInt64LittleEndian(header),
                BinaryPrimitives.ReadInt32LittleEndian(header[8..]),
                BinaryPrimitives.ReadInt32LittleEndian(header[12..]),
                BinaryPrimitives.ReadInt64LittleEndian(header[16..]),
                BinaryPrimitives.ReadInt32LittleEndian(header[24..]),
                BinaryPrimitives.ReadInt32LittleEndian(header[28..]),
                json);
            Take(HeaderSize);
            var copied = 0;
            while (copied < jsonLength)
            {
                if (!Fill(1))
                {
                    throw new TemporaryFileException(directory, new IOException("a run ends inside an event"));
                }
                var n = Math.Min(_count, jsonLength - copied);
                _buffer.AsSpan(_start, n).CopyTo(json.AsSpan(copied));
                copied += n;
                Take(n);
            }
            return true;
        }

        private void Take(int n)
        {
            _start += n;
            _count -= n;
        }

        /// <summary>Makes at least <paramref name="needed"/> bytes (at most the buffer's size) available; false at the run's end.</summary>
        private bool Fill(int needed)
        {
            if (_count >= needed)
            {
                return true;
            }
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _count);
            _start = 0;
            while (_count < needed && _next < _end)
            {
                var want = (int)Math.Min(_buffer.Length - _count, _end - _next);
                int read;
                try
                {
                    read = RandomAccess.Read(file, _buffer.AsSpan(_count, want), _next);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new TemporaryFileException(directory, e);
                }
                if (read <= 0)
                {
                    throw new TemporaryFileException(directory, new IOException("a run was cut short"));
                }
                _next += read;
                _count += read;
            }
            if (_count == 0)
            {
                return false;
            }
            return _count >= needed ? true : throw new TemporaryFileException(directory, new IOException("a run ends inside an event"));
        }
    }
}
