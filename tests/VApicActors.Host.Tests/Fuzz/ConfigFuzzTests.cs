using System.Text;
using Akka.Configuration;
using VApicActors.Host.Bench;
using VApicActors.Host.Cluster;
using VApicActors.Host.Configuration;
using VApicActors.Host.Service;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests.Fuzz;

/// <summary>
/// The project's HOCON files (hocon/*.hocon) with lines mutated as text and as HOCON (braces and quotes left open, keys
/// twice, substitutions, includes, units, odd values), given as <c>--config FILE</c>. Every command's settings either take
/// the file or refuse it with one line naming the file or the key; none throws anything else.
/// </summary>
public sealed class ConfigFuzzTests
{
    private const int Cases = 300;
    private const int Seed = 0x5eed_0004;

    private static readonly string HoconDirectory = Path.Combine(AppContext.BaseDirectory, "hocon");

    /// <summary>HOCON at its edges: what the parser and the settings see beyond mutated values.</summary>
    private static readonly string[] HoconLines =
    [
        "{", "}", "[", "]", "\"", "\"\"\"", "a = ${vapic.simulation.vcpus}", "vapic.simulation.vcpus = ${?nothing}", "vapic.simulation.vcpus = ${nothing}",
        "a = ${b}", "b = ${a}", "vapic.simulation.seed = ${vapic.simulation.seed}", "vapic.stress.vcpus += 1", "vapic.simulation.apic-ids += 1",
        "include \"missing.hocon\"", "include \"\"", "include required(\"missing.hocon\")",
        "vapic.simulation.duration = 1 fortnight", "vapic.simulation.duration = 99999999999999999d", "vapic.simulation.duration = -1s",
        "vapic.simulation.duration = infinite", "vapic.stress.duration = 1e400s", "vapic.simulation.vcpus = 1e400", "vapic.simulation.vcpus = 0x10",
        "vapic.simulation.timer-hz = 1000000000000000000000", "vapic.simulation.tick-period = 0", "vapic.simulation.apic-ids = [1, [2]]",
        "vapic.simulation.apic-ids = [\"0x\", -1]", "vapic.trace.filter = \"Vector = (\"", "vapic.trace.file = \"\"", "akka.loglevel = LOUD",
        "akka.actor.ask-timeout = banana", "akka.actor.ask-timeout = {}", "vapic-vcpu-dispatcher.throughput = -5", "vapic-vcpu-dispatcher.vcpu-executor.threads = -1",
        "vapic-vcpu-dispatcher.executor = nonsense", "vapic.service.listen = \"[::1\"", "vapic.service.listen = \"host:99999\"",
        "vapic.cluster.seed-nodes = [\"\"]", "vapic.stress.mix { fixed = 0, logical = 0 }", "vapic.bench.vcpus = []", "vapic.bench.designs = [nothing]",
        "vapic { simulation { vcpus = 2 } }", "\"vapic.simulation\".vcpus = 2", "vapic..simulation = 1", ". = 1", "= 1", "vapic.simulation.vcpus =",
        "vapic.simulation.vcpus :", "vapic = null", "vapic.simulation = 5", "vapic.simulation.mode = null", "akka = []", "akka.actor = 1",
        "vapic.\u00e9 = 1", "vapic.simulation.mode = \"x\u0000apic\"", "vapic.simulation.vcpus = \"\\ud800\"", "# comment", "// comment",
        "vapic.simulation.mode = x ${?nothing}", "vapic.simulation.apic-ids = [1] ${?nothing}", "vapic.simulation.apic-ids = [1, ${?nothing}]",
        "vapic.simulation { vcpus = ${?nothing} }", "akka.actor { x = ${?nothing} }", "vapic.service.listen = ${?VAPIC_LISTEN}",
        "vapic.simulation.deep = " + string.Concat(Enumerable.Repeat("{ a = ", 20_000)) + "1" + new string('}', 20_000),
        "vapic.simulation.deep = " + new string('[', 20_000) + new string(']', 20_000),
    ];

    [Fact]
    public void MutatedConfigFiles_AreTakenOrRefusedNamingTheFileOrKey()
    {
        var originals = Directory.GetFiles(HoconDirectory, "*.hocon").Order(StringComparer.Ordinal).Select(File.ReadAllLines).ToList();
        var mutator = new TextMutator(Seed);
        using var dir = new TempDirectory();
        var problems = new List<string>();
        var taken = 0;

        for (var n = 0; n < Cases; n++)
        {
            var lines = mutator.Pick(originals).ToList();
            var what = new List<string>();
            for (var k = mutator.Next(1, 4); k > 0; k--)
            {
                var at = mutator.Next(lines.Count);
                switch (mutator.Next(6))
                {
                    case 0:
                        lines.Insert(at, mutator.Pick(HoconLines));
                        what.Add($"line {at + 1} inserted: {lines[at]}");
                        break;
                    case 1:
                        lines.RemoveAt(at);
                        what.Add($"line {at + 1} removed");
                        break;
                    default:
                        lines[at] = mutator.Mutate(lines[at], lines);
                        what.Add($"line {at + 1}: {(lines[at].Length > 80 ? lines[at][..80] + "..." : lines[at])}");
                        break;
                }
            }
            var path = dir.File($"case-{n}.hocon");
            File.WriteAllBytes(path, Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n")); // a lone surrogate becomes U+FFFD, as any editor writes it

            var problem = Check(path);
            if (problem == "taken")
            {
                taken++;
            }
            else if (problem is not null)
            {
                problems.Add($"case {n} ({string.Join("; ", what)}): {problem}");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} of {Cases} mutated configuration files broke the contract:\n{string.Join("\n", problems.Take(10))}");
        Assert.InRange(taken, Cases / 10, Cases - Cases / 10); // the mutations reach both sides of the checks
    }

    /// <summary>Null when refused as the contract says, "taken" when every reader took it, else what broke.</summary>
    private static string? Check(string path)
    {
        Config config;
        var warnings = new StringWriter();
        try
        {
            config = HoconSettings.LoadConfig(path, warnings);
        }
        catch (SettingsException e)
        {
            return e.Key == path ? Clear(e) : $"refused naming {e.Key}, not the file: {e.Message}";
        }
        catch (Exception e)
        {
            return "loading threw " + e;
        }
        foreach (var warning in warnings.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!(warning.StartsWith("vapic: warning: unknown setting vapic.", StringComparison.Ordinal) || warning.StartsWith("vapic: warning: unknown setting vapic-vcpu-dispatcher.", StringComparison.Ordinal))
                || !warning.Contains(path, StringComparison.Ordinal))
            {
                return "an odd warning: " + warning;
            }
        }

        // What each command does with it: `vapic` and `run` (and the state commands), `serve`, `serve --cluster`, `stress`, `bench`.
        var refused = false;
        foreach (var (reader, read) in new (string, Action)[]
        {
            ("vapic", () => VapicSettings.Create(config)),
            ("service", () => ServiceSettings.Create(config)),
            ("cluster", () => ClusterSettings.Create(config)),
            ("stress", () => StressSettings.Create(config)),
            ("bench", () => BenchSettings.Create(config)),
        })
        {
            try
            {
                read();
            }
            catch (SettingsException e)
            {
                refused = true;
                if (Clear(e) is { } problem)
                {
                    return reader + ": " + problem;
                }
                if (!e.Key.StartsWith("vapic", StringComparison.Ordinal) && !e.Key.StartsWith("akka", StringComparison.Ordinal))
                {
                    return $"{reader}: refused naming {e.Key}, no key: {e.Message}";
                }
            }
            catch (StressSettingsException e) when (reader is "stress" or "bench")
            {
                refused = true;
                if (e.Message.Contains('\n', StringComparison.Ordinal) || !e.Key.StartsWith("vapic.", StringComparison.Ordinal))
                {
                    return $"{reader}: refused, but not naming a key in one line: {e.Message}";
                }
            }
            catch (Exception e)
            {
                return $"{reader} threw {e}";
            }
        }
        return refused ? null : "taken";
    }

    private static string? Clear(SettingsException e) =>
        e.Message.Contains('\n', StringComparison.Ordinal) || e.Message.Contains("   at ", StringComparison.Ordinal)
            ? "refused, but not in one line: " + e.Message
            : null;
}
