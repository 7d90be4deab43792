using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// A replay (see <see cref="TraceReplayer"/>) fed trace events one at a time, in the order they were written, that
/// keeps no event it has replayed. An APIC's events come in its <c>Seq</c> order (it writes them in that order), so
/// an APIC whose first event is a usable <c>ApicCreated</c> is built at once and fed each event as it comes: what is
/// kept of it is its register model. Only an APIC whose configuration has to be guessed (a trace without
/// <c>ApicCreated</c>, or one that no APIC can have) needs its events from first to last to guess it: those are kept
/// and replayed at the end, in <c>Seq</c> order.
/// </summary>
public sealed class TraceReplay(ReplayOptions options) : IDisposable
{
    private readonly ReplayOptions _options = options ?? throw new ArgumentNullException(nameof(options));
    private readonly List<string> _vms = new();
    private readonly Dictionary<string, long> _vmEnd = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<uint>> _apicIds = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Vm, uint ApicId), TraceReplayer.ApicRun> _runs = new();
    private readonly Dictionary<(string Vm, uint ApicId), List<TraceRecord>> _kept = new();
    private readonly List<ReplaySkippedLine> _skipped = new();
    private bool _finished;

    /// <summary>APICs replayed as their events come.</summary>
    public int ApicsReplayedAsRead => _runs.Count;

    /// <summary>Events kept for APICs whose configuration has to be guessed at the end.</summary>
    public int EventsKept => _kept.Values.Sum(k => k.Count);

    /// <summary>Takes the next trace event, in the order the trace was written.</summary>
    public void Add(TraceRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (_finished)
        {
            throw new InvalidOperationException("the replay has finished");
        }
        if (e.Event == TraceReplayer.ServiceRequestEvent)
        {
            return;
        }
        if (!_vmEnd.TryGetValue(e.Vm, out var end))
        {
            _vms.Add(e.Vm);
            _apicIds[e.Vm] = new SortedSet<uint>();
        }
        _vmEnd[e.Vm] = Math.Max(end, e.VirtualTimeNs);
        var key = (e.Vm, e.ApicId);
        if (_apicIds[e.Vm].Add(e.ApicId))
        {
            if (!Selected(e.Vm, e.ApicId))
            {
                return;
            }
            if (TraceReplayer.ConfigFromFirstEvent(e, e.ApicId) is ApicConfig config)
            {
                _runs[key] = new TraceReplayer.ApicRun(e.Vm, e.ApicId, config, _options, new List<string>(), _skipped);
            }
            else
            {
                _kept[key] = new List<TraceRecord>();
            }
        }
        if (_runs.TryGetValue(key, out var run))
        {
            run.Feed(e);
        }
        else if (_kept.TryGetValue(key, out var kept))
        {
            kept.Add(e);
        }
    }

    /// <summary>The replayed APICs, in VM order then by APIC ID. Call once, after the last event.</summary>
    public ReplayResult Finish()
    {
        if (_finished)
        {
            throw new InvalidOperationException("the replay has finished");
        }
        _finished = true;
        var apics = new List<ReplayedApic>();
        var skipped = new List<ReplaySkippedLine>(_skipped);
        foreach (var vm in _vms)
        {
            var ids = _apicIds[vm].ToList();
            for (var rank = 0; rank < ids.Count; rank++)
            {
                var key = (vm, ids[rank]);
                if (_runs.TryGetValue(key, out var run))
                {
                    apics.Add(run.Finish(_vmEnd[vm]));
                }
                else if (_kept.Remove(key, out var kept))
                {
                    kept.Sort(static (a, b) => a.Seq != b.Seq ? a.Seq.CompareTo(b.Seq) : a.LineNumber.CompareTo(b.LineNumber));
                    apics.Add(TraceReplayer.ReplayOne(vm, ids[rank], rank, kept, _options, _vmEnd[vm], skipped));
                }
            }
        }
        skipped.Sort(static (a, b) => a.LineNumber.CompareTo(b.LineNumber));
        return new ReplayResult(apics, skipped);
    }

    public void Dispose()
    {
        foreach (var run in _runs.Values)
        {
            run.Dispose();
        }
        _runs.Clear();
    }

    private bool Selected(string vm, uint apicId) =>
        (_options.Vm is null || _options.Vm == vm) && (_options.ApicId is not uint wanted || wanted == apicId);
}
