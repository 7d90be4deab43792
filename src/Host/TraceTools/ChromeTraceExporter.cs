using System.Globalization;
using System.Text.Json;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Turns a message trace into Chrome trace-event JSON (the format chrome://tracing and ui.perfetto.dev open):
/// one process per VM and one thread per APIC, named by metadata events; a complete slice (<c>X</c>) for each
/// interrupt from its acknowledge to its EOI, named by vector (an EOI ends the highest vector in service, INIT
/// or a hardware disable ends all of them); instant events (<c>i</c>) for register accesses, timer events,
/// INIT/SIPI/NMI/SMI and the rest; and for each IPI a short slice where it was sent and one where each
/// destination took it, joined by a flow arrow (<c>s</c> to <c>f</c>; each end's <c>args.seq</c> is the <c>Seq</c> of the
/// trace event it stands for). Time is virtual time in µs (the
/// nanoseconds as fractions); events at one time keep the trace's order. An event is never drawn before the IPI
/// that caused it: an APIC that had not yet heard of the latest clock advance when it took an IPI is drawn at the
/// send's time from there on (<c>args.virtual_ns</c> keeps every event's recorded time).
/// </summary>
public static class ChromeTraceExporter
{
    /// <summary>Width of the slices that flow arrows bind to: one virtual nanosecond.</summary>
    public const long MarkerNs = 1;

    /// <summary>
    /// The width a slice of <paramref name="lengthNs"/> virtual nanoseconds is drawn with: its length, and at least
    /// <see cref="MarkerNs"/>, so that a slice of no length (an IPI's send or delivery, an interrupt acknowledged and
    /// EOI'd at one virtual time) shows in a viewer as more than a line.
    /// </summary>
    public static long VisibleNs(long lengthNs) => Math.Max(lengthNs, MarkerNs);

    /// <summary>Writes the timeline of <paramref name="events"/> to <paramref name="output"/>.</summary>
    /// <remarks>The events are read once, in order, and not kept: see <see cref="ChromeTraceTimeline"/>.</remarks>
    public static ChromeTraceExportSummary Export(IEnumerable<TraceRecord> events, Stream output, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(output);
        using var timeline = new ChromeTraceTimeline();
        foreach (var e in events)
        {
            timeline.Add(e);
        }
        return timeline.WriteTo(output, sourceName);
    }
}
