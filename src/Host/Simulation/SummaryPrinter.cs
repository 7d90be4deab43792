using System.Globalization;
using Spectre.Console;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Simulation;

/// <summary>Prints the default simulation's report as a table.</summary>
public static class SummaryPrinter
{
    /// <param name="traceError">Why writing the trace failed, or null when it did not.</param>
    public static void Print(IAnsiConsole console, SimulationReport report, string? tracePath, long traceEvents, string? traceError = null)
    {
        var s = report.Settings;
        var mode = s.Mode != Configuration.ApicModeSetting.X2Apic ? "xAPIC"
            : s.X2ApicDestinations == Configuration.X2ApicDestinationSetting.Physical ? "x2APIC (physical destinations)"
            : "x2APIC";
        console.MarkupLine(Markup.Escape(
            $"VM {report.VmName}: {Plural.Count(s.Vcpus, "vCPU")}, {mode}, boot={(s.Boot == Configuration.BootSetting.All ? "all" : s.BringUp == Configuration.BringUpSetting.Parallel ? "bsp (parallel bring-up)" : "bsp")}, " +
            $"timer {s.TimerHz} Hz, TSC {s.TscHz} Hz"));
        console.MarkupLine(Markup.Escape(
            $"bring-up finished at {report.BringUpEndNs} ns; workload ran {s.DurationNs} ns of virtual time, to {report.EndNs} ns"));

        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("vCPU");
        table.AddColumn("APIC ID");
        table.AddColumn("state");
        table.AddColumn(new TableColumn("timer ticks").RightAligned());
        table.AddColumn(new TableColumn("IPIs sent").RightAligned());
        table.AddColumn(new TableColumn("IPIs received").RightAligned());
        table.AddColumn("taken, by vector (hex:count)");
        foreach (var v in report.Vcpus)
        {
            var taken = v.TakenByVector.Count == 0
                ? "none"
                : string.Join(" ", v.TakenByVector.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key:x2}:{kv.Value}")));
            table.AddRow(
                v.Index.ToString(CultureInfo.InvariantCulture),
                "0x" + v.ApicId.ToString("x", CultureInfo.InvariantCulture),
                v.RunState,
                v.TimerTicks.ToString(CultureInfo.InvariantCulture),
                v.IpisSent.ToString(CultureInfo.InvariantCulture),
                v.IpisReceived.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(taken));
        }
        console.Write(table);

        console.MarkupLine(Markup.Escape(tracePath is null
            ? "trace: off (enable with --trace FILE or vapic.trace.enabled = on)"
            : traceError is not null
                ? $"trace: writing {tracePath} failed: {traceError}"
                : $"trace: {Plural.Count(traceEvents, "event")} written to {tracePath}"));
    }
}
