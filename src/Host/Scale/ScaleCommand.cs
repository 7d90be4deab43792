using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Spectre.Console;
using VApicActors.Actors;
using VApicActors.Host.Cli;
using VApicActors.Host.Configuration;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Scale;

/// <summary>
/// <c>vapic scale</c>: creates VMs of x2APIC vCPUs (4096 each by default) until the total (100 000 by default)
/// exists in this process, timing each creation; sends one broadcast IPI to every vCPU of the first VM and checks
/// that each received it; reports memory per vCPU; stops every VM. Exit codes: 0 every vCPU received the broadcast,
/// 1 one did not, 2 a usage error or a JSON file that could not be written.
/// </summary>
public static class ScaleCommand
{
    private const int RedirectedWidth = 120;

    /// <param name="configFile">The root command's <c>--config</c> option: only the VM dispatcher's settings
    /// (<c>vapic-vcpu-dispatcher</c>) are read from the configuration.</param>
    public static Command Create(Option<string?> configFile)
    {
        var total = new Option<int?>("--total") { Description = "vCPUs to create in all (default " + ScaleSettings.DefaultTotal + ")", HelpName = "N" };
        var perVm = new Option<int?>("--vcpus-per-vm") { Description = "vCPUs per VM (default " + ScaleSettings.DefaultVcpusPerVm + ")", HelpName = "N" };
        var ids = new Option<string?>("--apic-ids") { Description = "dense (0..N-1) or sparse (0x1000 + 37·i, the default) x2APIC IDs" };
        ids.AcceptOnly("dense", "sparse");
        var json = new Option<string?>("--json") { Description = "Also write the report as JSON to FILE", HelpName = "FILE" };

        var command = new Command("scale", "Create VMs of x2APIC vCPUs up to a total, broadcast one IPI to every vCPU of the first, and report creation time and memory per vCPU");
        foreach (var o in new Option[] { total, perVm, ids, json })
        {
            command.Options.Add(o);
        }
        command.SetAction(async (parse, ct) =>
        {
            var settings = new ScaleSettings(
                parse.GetValue(total) ?? ScaleSettings.DefaultTotal,
                parse.GetValue(perVm) ?? ScaleSettings.DefaultVcpusPerVm,
                parse.GetValue(ids) != "dense");
            try
            {
                settings.Validate();
            }
            catch (ArgumentOutOfRangeException e)
            {
                await Console.Error.WriteLineAsync("vapic scale: " + e.ParamName + " " + e.Message.Split(" (Parameter")[0]).ConfigureAwait(false);
                return StressCommand.ExitUsage;
            }
            Config config;
            try
            {
                config = StressSettings.LoadConfig(parse.GetValue(configFile), Console.Error);
                AkkaSettingsCheck.ValidateVcpuDispatcher(config);
            }
            catch (Exception e) when (e is SettingsException or IOException or ConfigurationException)
            {
                await Console.Error.WriteLineAsync("vapic scale: " + e.Message).ConfigureAwait(false);
                return StressCommand.ExitUsage;
            }
            if (parse.GetValue(json) is string jsonFile && CommandLineFiles.CannotWrite(jsonFile) is string why)
            {
                await Console.Error.WriteLineAsync("vapic scale: --json: cannot write " + jsonFile + ": " + why).ConfigureAwait(false);
                return StressCommand.ExitUsage;
            }
            return await RunAsync(settings, parse.GetValue(json), AnsiConsole.Console, ct, config).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>
    /// Runs in a fresh actor system, prints the report, writes the JSON; returns the exit code (2 when the JSON
    /// could not be written, said after the report).
    /// </summary>
    /// <param name="config">The application's configuration, for the VM dispatcher's settings in it (<see cref="VcpuDispatcher"/>).</param>
    public static async Task<int> RunAsync(ScaleSettings settings, string? jsonFile, IAnsiConsole console, CancellationToken ct, Config? config = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(console);
        if (!console.Profile.Capabilities.Interactive)
        {
            console.Profile.Width = RedirectedWidth;
        }
        var system = StressCommand.CreateSystem("vapic-scale", config);
        ScaleReport report;
        try
        {
            report = await new ScaleRun(system, settings, line => console.WriteLine(line)).RunAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
        Print(console, report);
        // Not cancelled by a Ctrl-C that came after the last VM was made (while they were measured or stopped): the
        // run is then whole, and so are the report just printed and its JSON.
        if (jsonFile is not null && await CommandLineFiles.TryWriteAllTextAsync(jsonFile, ToJson(report), CancellationToken.None).ConfigureAwait(false) is string why)
        {
            await Console.Error.WriteLineAsync("vapic scale: --json: cannot write " + jsonFile + ": " + why).ConfigureAwait(false);
            return StressCommand.ExitUsage;
        }
        return report.Broadcast.EveryVcpuReceived ? StressCommand.ExitOk : StressCommand.ExitViolated;
    }

    public static void Print(IAnsiConsole console, ScaleReport report)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(report);
        var vms = new Table().Title("scale: " + Plural.Count(report.Vms.Count, "VM") + ", " + N(report.TotalVcpus) + " x2APIC " + Plural.Noun(report.TotalVcpus, "vCPU") + ", "
            + (report.Settings.SparseApicIds ? "sparse" : "dense") + " IDs");
        foreach (var h in new[] { "VM", "vCPUs", "created in", "per 4096 vCPUs" })
        {
            vms.AddColumn(new TableColumn(h).RightAligned());
        }
        foreach (var vm in report.Vms)
        {
            vms.AddRow(N(vm.Number), N(vm.Vcpus), S(vm.Seconds), S(vm.SecondsPer4096));
        }
        console.Write(vms);

        var m = report.Memory;
        var b = report.Broadcast;
        var summary = new Table().Title("scale: summary").AddColumn("measure").AddColumn(new TableColumn("value").RightAligned()).AddColumn("target");
        summary.AddRow("vCPUs in one process", N(report.TotalVcpus), Mark(report.TotalVcpus >= report.Settings.Total, N(report.Settings.Total)));
        summary.AddRow("creation per 4096 vCPUs, median / max", S(report.MedianCreationSecondsPer4096) + " / " + S(report.MaxCreationSecondsPer4096),
            Mark(report.CreationTargetMet, "< 1 s"));
        summary.AddRow("broadcast: vCPUs with the vector pending", N(b.Received) + " of " + N(b.Vcpus), Mark(b.EveryVcpuReceived, "all"));
        summary.AddRow("broadcast: ICR write answered", S(b.IcrWriteSeconds), "");
        summary.AddRow("broadcast: every vCPU seen pending", S(b.AllPendingSeconds), "");
        summary.AddRow("managed heap growth per vCPU (full GC)", Bytes(report.ManagedBytesPerVcpu), "");
        summary.AddRow("+ APIC page (4096-byte native allocation)", Bytes((double)m.NativePageBytes / report.TotalVcpus), "");
        summary.AddRow("= memory per vCPU", Bytes(report.BytesPerVcpu), Mark(report.MemoryTargetMet, "≤ 8 KiB"));
        summary.AddRow("process " + m.ProcessSource + " growth per vCPU", Bytes(report.ProcessBytesPerVcpu), "");
        summary.AddRow("managed heap before / after", MiB(m.ManagedBefore) + " / " + MiB(m.ManagedAfter), "");
        summary.AddRow("GC heap size after (with fragmentation)", MiB(m.HeapSizeAfter), "");
        summary.AddRow("process " + m.ProcessSource + " before / after", MiB(m.ProcessBefore) + " / " + MiB(m.ProcessAfter), "");
        summary.AddRow("every VM stopped in", S(report.DisposeSeconds), "");
        console.Write(summary);
    }

    public static string ToJson(ScaleReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return JsonSerializer.Serialize(new
        {
            totalVcpus = report.TotalVcpus,
            vcpusPerVm = report.Settings.VcpusPerVm,
            apicIds = report.Settings.SparseApicIds ? "sparse" : "dense",
            vms = report.Vms.Select(v => new { number = v.Number, vcpus = v.Vcpus, seconds = v.Seconds, secondsPer4096 = v.SecondsPer4096 }),
            creationSecondsPer4096 = new { median = report.MedianCreationSecondsPer4096, max = report.MaxCreationSecondsPer4096, targetMet = report.CreationTargetMet },
            broadcast = new
            {
                vcpus = report.Broadcast.Vcpus,
                received = report.Broadcast.Received,
                icrWriteSeconds = report.Broadcast.IcrWriteSeconds,
                allPendingSeconds = report.Broadcast.AllPendingSeconds,
                missing = report.Broadcast.Missing,
            },
            memory = new
            {
                managedBytesBefore = report.Memory.ManagedBefore,
                managedBytesAfter = report.Memory.ManagedAfter,
                gcHeapSizeAfter = report.Memory.HeapSizeAfter,
                nativePageBytes = report.Memory.NativePageBytes,
                processSource = report.Memory.ProcessSource,
                processBytesBefore = report.Memory.ProcessBefore,
                processBytesAfter = report.Memory.ProcessAfter,
                managedBytesPerVcpu = report.ManagedBytesPerVcpu,
                bytesPerVcpu = report.BytesPerVcpu,
                processBytesPerVcpu = report.ProcessBytesPerVcpu,
                targetMet = report.MemoryTargetMet,
            },
            disposeSeconds = report.DisposeSeconds,
        }, new JsonSerializerOptions { WriteIndented = true });
    }

    private static string N(int n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string S(double seconds) => seconds.ToString("F3", CultureInfo.InvariantCulture) + " s";

    private static string Bytes(double bytes) => bytes.ToString("N0", CultureInfo.InvariantCulture) + " B";

    private static string MiB(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB";

    private static string Mark(bool met, string target) => target + (met ? " (met)" : " (missed)");
}
