using System.Globalization;
using System.Text;
using VApicActors.Host.Cli;
using VApicActors.Host.Stress;
using VApicActors.Registers;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// <c>vapic trace ipis TRACE [--vm V] [--apic ID] [--vector V] [--problems]</c>: follows every IPI of a trace
/// (<see cref="IpiFollower"/>) and prints one line per destination as its part ends — taken and EOI'd, dropped,
/// delivered as NMI/SMI/INIT/SIPI, lost to an INIT, disable or restore — then what was still open when the trace
/// ended, the IPIs no APIC took, and a summary with virtual-time latencies.
/// </summary>
public static class TraceIpisCommand
{
    public const int Success = 0;

    /// <summary>Some lines were not trace events; the rest was followed.</summary>
    public const int SkippedLines = 1;

    /// <summary>The trace could not be read.</summary>
    public const int UsageError = 2;

    public static int Run(string tracePath, IpiSelection selection, bool problemsOnly, TextWriter stdout, TextWriter stderr, TextReader? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(selection);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var follower = new IpiFollower(selection, story =>
        {
            if (!problemsOnly || IsProblem(story))
            {
                stdout.WriteLine(Format(story));
            }
        });
        var read = 0L;
        // What the selection could have matched, so that a VM or APIC the trace does not have is said, not just counted as nothing.
        var vms = new TraceVms(selection.Vm);
        var apicSeen = false;
        var progress = TraceProgress.ForConsole(stderr, alsoNeedsRedirectedOutput: true);
        // As for view: lines to a pipe share writes, unless the trace comes from standard input and may wait.
        bool complete;
        int skipped;
        using (var batch = StandardOutput.Batch(stdout, inputMayWait: tracePath == TraceFiles.StandardInput))
        {
            complete = TraceFiles.TryStream(tracePath, stdin, stderr, progress, keepProperties: false, e =>
            {
                read++;
                batch.Tick();
                vms.Add(e.Vm);
                apicSeen |= e.ApicId == selection.Apic && (selection.Vm is null || e.Vm == selection.Vm);
                follower.Add(e);
            }, out skipped, output: batch);
        }
        if (!complete && read == 0 && skipped == 0)
        {
            return UsageError;
        }
        var summary = follower.Finish();
        foreach (var line in Summary(summary, selection))
        {
            stdout.WriteLine(line);
        }
        // A --vm or --apic the trace does not have is a mistake in the command (a mistyped name, another run's trace), as
        // for replay: its "0 IPIs sent" must not pass for a clean run in a script that checks the exit status.
        var selectsNothing = false;
        if (vms.Missing(tracePath) is { } missing)
        {
            stderr.WriteLine(missing);
            selectsNothing = true;
        }
        else if (selection.Apic is uint apic && !apicSeen && read > 0)
        {
            stderr.WriteLine($"vapic: {tracePath} has no events of APIC {Hex.Of(apic)}{(selection.Vm is null ? "" : $" (VM {selection.Vm})")}");
            selectsNothing = true;
        }
        if (skipped > 0 || !complete)
        {
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Plural.Count(read, "event")} followed{(skipped > 0 ? $", {Plural.Count(skipped, "line")} skipped" : "")}{(complete ? "" : " before the read failed")}"));
        }
        return !complete || selectsNothing ? UsageError : skipped > 0 ? SkippedLines : Success;
    }

    /// <summary>
    /// A part that did not end in an EOI or a delivered NMI, SMI, INIT or SIPI, and is not a drop the start-up
    /// protocol expects (the second SIPI to an AP the first one started).
    /// </summary>
    public static bool IsProblem(IpiStory story) =>
        story.End is not (IpiEnd.Eoi or IpiEnd.Delivered) && !(story.End == IpiEnd.Dropped && story.ExpectedBecause is not null);

    /// <summary>
    /// One destination's part in one IPI: the send (virtual time, VM, sender, Seq, mode, vector, destination), then
    /// the destination and what became of the IPI there, each step with its Seq at that APIC and the virtual time since
    /// the send.
    /// </summary>
    public static string Format(IpiStory story)
    {
        ArgumentNullException.ThrowIfNull(story);
        var send = story.Send;
        var sb = new StringBuilder(160);
        var seconds = Math.DivRem(Math.Max(0, send.TimeNs), 1_000_000_000L, out var ns);
        sb.Append(CultureInfo.InvariantCulture, $"{seconds,3}.{ns:D9} {send.Vm} {Hex.Of(send.Sender)} #{send.Seq} ");
        sb.Append(What(send.Mode, send.Message.Vector)).Append(" to ").Append(send.Destination);
        if (story.Receiver is not uint receiver)
        {
            sb.Append(": reached no APIC");
            if (story.NoDestinationBecause is not null)
            {
                sb.Append(" (").Append(story.NoDestinationBecause).Append(')');
            }
            return sb.ToString();
        }
        sb.Append(" -> ").Append(Hex.Of(receiver)).Append(": ");
        var outcome = story.Outcome switch
        {
            nameof(AcceptOutcome.Accepted) => "accepted",
            nameof(AcceptOutcome.Coalesced) => "coalesced",
            var other => other,
        };
        sb.Append(outcome).Append(Step(story.DeliverySeq, story.DeliveryNs, send));
        if (story.CoalescedInto is not null)
        {
            sb.Append(" into ").Append(story.CoalescedInto);
        }
        if (story.AckSeq is long ackSeq)
        {
            sb.Append(", acknowledged").Append(Step(ackSeq, story.AckNs!.Value, send));
        }
        if (story.EoiSeq is long eoiSeq)
        {
            sb.Append(", EOI").Append(Step(eoiSeq, story.EoiNs!.Value, send));
        }
        if (story.ExpectedBecause is not null)
        {
            sb.Append(" (expected: ").Append(story.ExpectedBecause).Append(')');
        }
        switch (story.End)
        {
            case IpiEnd.Lost:
                sb.Append(", lost at ").Append(story.LostAt);
                break;
            case IpiEnd.PendingAtEnd:
                sb.Append(", still pending in IRR at the end");
                if (story.PendingBecause is not null)
                {
                    sb.Append(" (").Append(story.PendingBecause).Append(')');
                }
                break;
            case IpiEnd.InServiceAtEnd:
                sb.Append(", still in service at the end (no EOI)");
                break;
        }
        return sb.ToString();
    }

    /// <summary>
    /// The summary lines: sends, what became of their deliveries, and latencies from the send in virtual time. With an
    /// APIC selected, the sends are those it made and the deliveries those it made or took.
    /// </summary>
    public static IEnumerable<string> Summary(IpiFollowSummary s, IpiSelection selection)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(selection);
        var inv = CultureInfo.InvariantCulture;
        var sent = Plural.Count(s.Sends, "IPI") + " sent" + (selection.Apic is uint apic ? " by " + Hex.Of(apic) : "");
        var followed = Plural.Count(s.Deliveries, "delivery", "deliveries") + (selection.Apic is null ? "" : " to or from it") + " followed";
        yield return string.Create(inv,
            $"{sent}, {followed}: {s.Ends[IpiEnd.Eoi]} taken to EOI ({s.Coalesced} coalesced into an interrupt already pending), " +
            $"{s.Ends[IpiEnd.Delivered]} NMI/SMI/INIT/SIPI delivered, {s.Ends[IpiEnd.Dropped]} dropped, {s.Ends[IpiEnd.Lost]} lost, " +
            $"{s.Ends[IpiEnd.PendingAtEnd]} still pending, {s.Ends[IpiEnd.InServiceAtEnd]} still in service; " +
            $"{Plural.Count(s.Ends[IpiEnd.NoDestination], "IPI")} reached no APIC");
        if (s.DroppedBy.Count > 0)
        {
            yield return "dropped: " + string.Join(", ", s.DroppedBy.Select(d => string.Create(inv, $"{d.Value} {d.Key}")))
                + (s.ExpectedDrops > 0 ? string.Create(inv, $" ({s.ExpectedDrops} expected: a second Start-up IPI to an AP the first one started)") : "");
        }
        if (s.ToAcceptance.Count > 0)
        {
            yield return "virtual time from send to acceptance: " + Percentiles(s.ToAcceptance)
                + (s.ToEoi.Count > 0 ? "; to EOI: " + Percentiles(s.ToEoi) : "");
        }
        if (s.Unlinked > 0)
        {
            yield return string.Create(inv, $"{Plural.Count(s.Unlinked, "IPI delivery", "IPI deliveries")} {Plural.Noun(s.Unlinked, "has", "have")} no send in the trace (not followed)");
        }
    }

    private static string What(DeliveryMode mode, byte vector) => mode switch
    {
        DeliveryMode.Fixed => "fixed " + Hex.Of((ulong)vector),
        DeliveryMode.LowestPriority => "lowest-priority " + Hex.Of((ulong)vector),
        DeliveryMode.StartUp => "SIPI " + Hex.Of((ulong)vector),
        _ => PackedMessage.ModeName(mode),
    };

    private static string Step(long seq, long ns, IpiSend send) =>
        string.Create(CultureInfo.InvariantCulture, $" #{seq} +{StressOutput.Duration(Math.Max(0, ns - send.TimeNs))}");

    private static string Percentiles(List<long> values)
    {
        values.Sort();
        string At(double q) => StressOutput.Duration(values[Math.Max(0, (int)Math.Ceiling(q * values.Count) - 1)]);
        return "p50 " + At(0.5) + ", p99 " + At(0.99) + ", max " + StressOutput.Duration(values[^1]);
    }
}
