using Akka.Actor;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary>Traces the simulator writes for scripts, the material every trace tool is tested on.</summary>
public static class SimulatorTraces
{
    /// <summary>
    /// Three vCPUs: IPIs (unicast and all-but-self), nested interrupts on vCPU 1 (0x41 taken at 100 ns, 0x61 at
    /// 300 ns, EOIs at 400 and 500 ns), NMI, INIT and SIPI to vCPU 2, a timer interrupt left in service, and an
    /// MSI. Virtual time moves between the steps.
    /// </summary>
    public const string Timeline = """
        vm vcpus=3
        cpu 0
        writel 0xfee000f0 0x1ff
        cpu 1
        writel 0xfee000f0 0x1ff
        cpu 2
        writel 0xfee000f0 0x1ff
        cpu 0
        writel 0xfee00310 0x01000000
        writel 0xfee00300 0x00004041
        clock_step 100
        cpu 1
        ack -> 0x41
        clock_step 100
        cpu 0
        writel 0xfee00300 0x00004061
        writel 0xfee00300 0x000c4051
        clock_step 100
        cpu 1
        ack -> 0x61
        clock_step 100
        eoi
        clock_step 100
        eoi
        ack -> 0x51
        eoi
        cpu 0
        writel 0xfee00310 0x02000000
        writel 0xfee00300 0x00004400
        writel 0xfee00300 0x0000c500
        writel 0xfee00300 0x00008500
        writel 0xfee00300 0x0000069a
        cpu 2
        state -> running
        nmi
        cpu 1
        writel 0xfee00320 0x000000ee
        writel 0xfee00380 100
        clock_step 200
        ack -> 0xee
        readl 0xfee00100
        msi 0xfee00000 0x0000c062
        cpu 0
        irr -> 0x62
        """;

    /// <summary>Runs <paramref name="script"/> from a fresh VM, tracing every event to a file in <paramref name="directory"/>; returns its path.</summary>
    public static async Task<string> RecordAsync(ActorSystem system, TempDirectory directory, string name, string script)
    {
        var scriptPath = directory.Write(name + ".vapic", script);
        var tracePath = directory.File(name + ".clef");
        using (var sink = SerilogTraceSink.Create(tracePath))
        {
            var output = new StringWriter();
            var summary = await new ScenarioRunner(system, sink).RunAsync([scriptPath], output, output);
            Assert.True(summary.ExitCode == 0, output.ToString());
        }
        return tracePath;
    }
}
