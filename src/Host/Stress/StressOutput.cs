using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Stress;

/// <summary>Prints a <see cref="StressReport"/> as tables, and writes it as JSON.</summary>
public static class StressOutput
{
    private const int MaxVcpuRows = 16;

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
    };

    public static string ToJson(StressReport report) => JsonSerializer.Serialize(report, Json);

    public static void Print(IAnsiConsole console, StressReport report)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(report);
        var unit = report.TimeBase == "virtual" ? " per virtual s" : "/s";
        var summary = new Table().Title("stress" + (report.Nodes is { } n ? " --cluster (" + Plural.Count(n.Count, "node") + ")" : "") + ": " + report.Run + ", " + Plural.Count(report.Vms, "VM") + " x " + Plural.Count(report.VcpusPerVm, "vCPU") + ", "
            + report.Mode + " " + report.ApicIds + " IDs, seed " + report.Seed.ToString(CultureInfo.InvariantCulture));
        summary.AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        summary.AddRow("time (" + report.TimeBase + ")", report.ElapsedSeconds.ToString("F3", CultureInfo.InvariantCulture) + " s");
        summary.AddRow("operations", report.Operations.ToString("N0", CultureInfo.InvariantCulture));
        summary.AddRow("operations" + unit, Rate(report.OperationsPerSecond));
        summary.AddRow("exits" + unit, Rate(report.ExitsPerSecond));
        summary.AddRow("IPIs delivered" + unit, Rate(report.IpisPerSecond));
        summary.AddRow("latency to acceptance p50/p99/p99.9/max", Latency(report.LatencyNs));
        summary.AddRow("latency to EOI p50/p99/p99.9/max", Latency(report.LatencyToEoiNs));
        if (report.Interrupted)
        {
            summary.AddRow("interrupted", "yes: the report covers the operations that ran");
        }
        if (report.VmCreationSeconds is double created)
        {
            summary.AddRow("VM creation", created.ToString("F3", CultureInfo.InvariantCulture) + " s");
        }
        console.Write(summary);

        if (report.Nodes is { } nodes)
        {
            var perNode = new Table().Title("nodes");
            perNode.AddColumn("node").AddColumn(new TableColumn("VMs").RightAligned()).AddColumn(new TableColumn("operations").RightAligned())
                .AddColumn("VMs run there");
            foreach (var node in nodes)
            {
                var names = report.PerVm?.Where(v => v.Node == node.Node).Select(v => v.Vm.ToString(CultureInfo.InvariantCulture) + (v.Error is null ? "" : " (failed)")) ?? [];
                perNode.AddRow(Markup.Escape(node.Node), N(node.Vms), N(node.Operations), Markup.Escape(string.Join(", ", names)));
            }
            console.Write(perNode);
        }

        var invariants = new Table().Title("invariants");
        invariants.AddColumn("invariant").AddColumn("holds").AddColumn("detail");
        foreach (var i in report.Invariants)
        {
            invariants.AddRow(Markup.Escape(i.Name), i.Holds ? "[green]yes[/]" : "[red]NO[/]", Markup.Escape(i.Detail));
        }
        console.Write(invariants);

        var vcpus = new Table().Title(report.PerVcpu.Count > MaxVcpuRows
            ? "per vCPU (first " + MaxVcpuRows + " of " + report.PerVcpu.Count + "; all of them with --json)"
            : "per vCPU");
        foreach (var h in new[] { "vCPU", "APIC", "ops", "exits", "IPIs sent", "received", "accepted (LVT)", "coalesced (LVT)", "EOI'd", "callfn ran", "EOI p50/p99/max" })
        {
            vcpus.AddColumn(new TableColumn(h).RightAligned());
        }
        foreach (var v in report.PerVcpu.Take(MaxVcpuRows))
        {
            vcpus.AddRow(
                (report.Vms > 1 ? v.Vm + "/" : "") + v.Vcpu, "0x" + v.ApicId.ToString("X", CultureInfo.InvariantCulture),
                N(v.Operations), N(v.Exits), N(v.FixedIpisSent + v.LowestPriorityIpisSent + v.OtherIpisSent),
                N(v.FixedReceived + v.LowestPriorityReceived), N(v.Accepted) + " (" + N(v.LocalAccepted) + ")",
                N(v.Coalesced) + " (" + N(v.LocalCoalesced) + ")", N(v.Eoied), N(v.CallFunctionRan),
                Duration(v.LatencyToEoiNs.P50) + " / " + Duration(v.LatencyToEoiNs.P99) + " / " + Duration(v.LatencyToEoiNs.Max));
        }
        vcpus.Caption(VcpuColumnsCaption);
        console.Write(vcpus);
        if (report.FaultInjection is { } fault)
        {
            console.MarkupLine("fault injection: " + Markup.Escape(fault));
        }
        console.MarkupLine(report.AllInvariantsHold ? "[green]every invariant holds[/]" : "[red]an invariant is violated[/]");
    }

    /// <summary>What the per-vCPU columns count, so that they can be compared with the trace's events.</summary>
    internal const string VcpuColumnsCaption =
        "received: IPIs and MSIs. accepted, coalesced: from every source, in brackets the part from the vCPU's own LVTs "
        + "(its timer). The trace names the sources apart: Accepted/Coalesced (IPIs), Msi, TimerFired; the outcome is in Detail.";

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>
    /// A rate in millions or thousands; below a thousand as it is, so that a short run's few IPIs per second do not
    /// show as "0.0 k".
    /// </summary>
    internal static string Rate(double perSecond) => perSecond >= 999_950
        ? (perSecond / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " M"
        : perSecond >= 999.5
            ? (perSecond / 1e3).ToString("F1", CultureInfo.InvariantCulture) + " k"
            : perSecond.ToString("F0", CultureInfo.InvariantCulture);

    private static string Latency(LatencySummary l) => Duration(l.P50) + " / " + Duration(l.P99) + " / " + Duration(l.P999) + " / " + Duration(l.Max);

    /// <summary>Nanoseconds in the unit that shows them in three significant digits: 850 ns, 36.9 µs, 18.9 ms, 1.53 s.</summary>
    internal static string Duration(long ns)
    {
        if (ns < 1_000)
        {
            return ns.ToString(CultureInfo.InvariantCulture) + " ns";
        }
        // Rounded to three digits, 999 600 ns is 1.00 ms, not 1000 µs.
        var (value, unit) = ns < 999_500 ? (ns / 1e3, "µs") : ns < 999_500_000 ? (ns / 1e6, "ms") : (ns / 1e9, "s");
        var format = value < 9.995 ? "F2" : value < 99.95 ? "F1" : "F0";
        return value.ToString(format, CultureInfo.InvariantCulture) + " " + unit;
    }
}
