using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Tests.TraceTools;
using VApicActors.Host.TraceTools;
using VApicActors.Host.Tracing;

namespace VApicActors.Host.Tests.Fuzz;

/// <summary>
/// Real message traces (scenario runs with the trace on, a restore among them) with lines mutated: as text (cut, junk,
/// flipped digits), as events (properties removed, retyped, out of range, <c>Detail</c> pairs changed, values swapped
/// between lines), lines dropped, repeated and swapped, blank, NUL and torn lines. <c>trace view</c>, <c>trace export</c>,
/// <c>trace ipis</c> and <c>replay</c> each report a bad line naming it, use every other line, and never throw.
/// </summary>
public sealed partial class TraceFuzzTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    private const int Cases = 300;
    private const int Seed = 0x5eed_0003;

    /// <summary>A restore in the middle, so that replays meet <c>Restored</c> events and take a state file.</summary>
    private const string Restoring = """
        vm vcpus=2 boot=bsp timer-hz=100000000
        writel 0xfee000f0 0x1ff
        writel 0xfee00320 0x000200e1
        writel 0xfee00380 250
        writel 0xfee00310 0x01000000
        writel 0xfee00300 0x0000c500
        writel 0xfee00300 0x00000699
        clock_step 1234
        save fuzz-trace-state.json
        restore fuzz-trace-state.json
        clock_step 5000
        ack -> 0xe1
        lint1 1
        wrmsr 0x6e0 5
        rdmsr 0x1b
        readw 0xfee00030
        readb 0xfee00031
        readq 0xfee00030
        eoi
        """;

    [Fact]
    public async Task MutatedTraces_BadLinesReportedByLine_TheRestUsed_NeverAnException()
    {
        using var dir = new TempDirectory();
        var traces = new List<string[]>
        {
            await File.ReadAllLinesAsync(await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline)),
            await File.ReadAllLinesAsync(await SimulatorTraces.RecordAsync(fixture.System, dir, "x2apic", ReplayTests.X2ApicWork)),
            await File.ReadAllLinesAsync(await SimulatorTraces.RecordAsync(fixture.System, dir, "restoring", Restoring)),
        };
        var statePath = dir.File("fuzz-trace-state.json");
        var mutator = new TraceLineMutator(Seed);
        var problems = new List<string>();

        for (var n = 0; n < Cases; n++)
        {
            var lines = mutator.Text.Pick(traces).ToList();
            var what = new List<string>();
            for (var k = mutator.Text.Next(1, 5); k > 0; k--)
            {
                what.Add(mutator.MutateTrace(lines));
            }
            var path = dir.File($"case-{n}.clef");
            await File.WriteAllBytesAsync(path, Encoding.UTF8.GetBytes(string.Join('\n', lines) + (mutator.Text.Chance(80) ? "\n" : "")));

            var problem = Check(path, dir.File($"case-{n}"), mutator.Text.Chance(30) ? statePath : null, mutator);
            if (problem is not null)
            {
                problems.Add($"case {n} ({string.Join("; ", what)}): {problem}");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} of {Cases} mutated traces broke the contract:\n{string.Join("\n", problems.Take(10))}");
    }

    /// <summary>Null when view, export and replay all keep the contract on the trace at <paramref name="path"/>; else what broke.</summary>
    private static string? Check(string path, string outputBase, string? statePath, TraceLineMutator mutator)
    {
        // What the file holds, line by line as the tools number them: which lines are not JSON objects, and where a NUL stops reading.
        var fileLines = File.ReadAllLines(path);
        var notJson = new List<int>();
        var readable = fileLines.Length;
        for (var i = 0; i < fileLines.Length; i++)
        {
            if (fileLines[i].Contains('\0', StringComparison.Ordinal))
            {
                readable = i + 1;
                break;
            }
            if (!string.IsNullOrWhiteSpace(fileLines[i]) && !IsJsonObject(fileLines[i]))
            {
                notJson.Add(i + 1);
            }
        }

        var filter = mutator.Text.Chance(30) ? mutator.Text.Pick(Filters) : null;
        foreach (var (tool, run) in new (string, Func<TextWriter, TextWriter, int>)[]
        {
            ("view", (o, e) => TraceViewCommand.Run(path, filter, o, e)),
            ("export", (o, e) => TraceExportCommand.Run(path, "chrome", outputBase + ".json", o, e)),
            ("ipis", (o, e) => TraceIpisCommand.Run(path, new IpiSelection(Apic: mutator.Text.Chance(30) ? 1u : null), mutator.Text.Chance(50), o, e)),
            ("replay", (o, e) => ReplayCommand.Run(path, null, null, null, null, o, e, statePath)),
            ("replay -o", (o, e) => ReplayCommand.Run(path, mutator.Text.Chance(50) ? null : "fuzz", mutator.Text.Chance(50) ? 1u : null,
                mutator.Text.Chance(30) ? mutator.Text.Next(1, 20) : null, outputBase + ".bin", o, e, statePath)),
        })
        {
            var output = new StringWriter();
            var error = new StringWriter();
            int code;
            try
            {
                code = run(output, error);
            }
            catch (Exception e)
            {
                return $"{tool} threw {e}";
            }
            var errors = error.ToString();
            if (code is < 0 or > 2)
            {
                return $"{tool} exited {code}";
            }
            if (errors.Contains(" does not look like a message trace (", StringComparison.Ordinal))
            {
                // No event before a NUL line or before 20 lines that are not events: the input is refused as a whole.
                if (code != 2 || LineError().IsMatch(errors) || output.ToString().Length > 0)
                {
                    return $"{tool} refused the input as not a trace, but exited {code} or printed more: {Shorten(errors)}";
                }
                continue;
            }
            if (errors.Contains("   at ", StringComparison.Ordinal) || errors.Contains("Exception", StringComparison.Ordinal))
            {
                return $"{tool} reported an exception: {Shorten(errors)}";
            }
            foreach (Match m in LineError().Matches(errors))
            {
                if (m.Groups["file"].Value != path)
                {
                    return $"{tool}: an error naming another file: {Shorten(m.Value)}";
                }
                var line = int.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture);
                if (line < 1 || line > fileLines.Length)
                {
                    return $"{tool}: an error naming line {line} of {fileLines.Length}: {Shorten(m.Value)}";
                }
            }
            foreach (var line in notJson.Where(l => l <= readable))
            {
                if (!errors.Contains($"{path}:{line}: error: ", StringComparison.Ordinal))
                {
                    return $"{tool}: line {line} is not JSON, but no error names it: {Shorten(errors)}";
                }
            }
            if (notJson.Count > 0 && code == 0)
            {
                return $"{tool} exited 0 with lines skipped";
            }
            if (tool == "view" && filter is null && !ShownCount().IsMatch(errors))
            {
                return "view: no count of events shown: " + Shorten(errors);
            }
            if (tool == "view" && filter is null && code != 2)
            {
                // Every event read is printed: one output line each.
                var shown = ShownCount().Match(errors);
                var printed = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
                if (!shown.Success || int.Parse(shown.Groups[1].Value, CultureInfo.InvariantCulture) != printed)
                {
                    return $"view printed {printed} lines but says {Shorten(errors)}";
                }
            }
        }
        return null;
    }

    private static readonly string[] Filters =
    [
        "Vector = 0x41", "Event in ['IpiSent', 'Accepted'] and VirtualTimeNs >= 100", "Destination like 'all%'", "Value > 5 or Detail like '%x%'",
        "Register = 'ICR'", "Source = 0", "@m like '%a%'", "SourceSeq is null and Register is not null", "ApicId <> 1",
    ];

    private static bool IsJsonObject(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Shorten(string text) => text.Length <= 400 ? text : text[..400] + $"... ({text.Length} characters)";

    [GeneratedRegex(@"(?<file>[^\s:]+):(?<line>\d+): error: [^\n]*")]
    private static partial Regex LineError();

    [GeneratedRegex(@"(\d+) of \d+ events? shown")]
    private static partial Regex ShownCount();
}

/// <summary>Seeded mutations of a trace: of one line as text or as an event, or of which lines there are.</summary>
internal sealed class TraceLineMutator(int seed)
{
    public TextMutator Text { get; } = new(seed);

    private static readonly string[] Properties =
        ["Vm", "ApicId", "Event", "Seq", "VirtualTimeNs", "Register", "Value", "Vector", "Source", "Destination", "Detail", "SourceSeq", "@t", "@mt", "@m"];

    private static readonly string[] Events =
    [
        "ApicCreated", "MmioRead", "MmioWrite", "MsrRead", "MsrWrite", "Acknowledged", "Eoi", "Lint", "LocalRaised", "Accepted", "Coalesced",
        "Dropped", "Nmi", "Smi", "Init", "Sipi", "Msi", "IpiSent", "TimerArmed", "TimerCancelled", "TimerFired", "EoiBroadcast", "ModeChanged",
        "Restored", "ServiceRequest", "", "Bogus",
    ];

    private static readonly string[] Registers = ["ICR", "LVTT", "LVT0", "LVT1", "LVTERR", "LVTPC", "LVTTHMR", "LVTCMCI", "LINT0", "LINT1", "TMICT", "", "X"];

    private static readonly string[] OddValues =
    [
        "null", "true", "0", "-1", "1.5", "1e300", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "4294967295", "4294967296", "255", "256", "\"\"", "\"x\"", "\"0x41\"", "{}", "[]", "[1,{\"a\":null}]", "{\"a\":[1]}",
        "\"\\ud800\"", "\"\\u0000\"",
    ];

    /// <summary>Detail pairs at the edges: sizes no access has, addresses and MSRs past 32 bits, clocks of 0 Hz, indexes past int.</summary>
    private static readonly string[] OddPairs =
    [
        "size=0", "size=3", "size=5", "size=7", "size=8", "size=16", "size=-1", "size=0x4", "addr=0xffffffffffffffff", "addr=-1", "addr=", "msr=0x100000000",
        "msr=0xffffffffffffffff", "msr=0x80b", "msr=0x1b", "msr=0x6e0", "result=#GP", "result=0x0", "index=0", "index=4294967295", "index=99999999999",
        "index=-1", "bsp=maybe", "x2apic=true", "x2apic=false", "x2apic=1", "running=false", "timer-hz=0", "timer-hz=1", "timer-hz=18446744073709551615",
        "tsc-hz=0", "tsc-hz=9223372036854775807", "tsc-hz=x", "expiries=0", "expiries=18446744073709551615", "mode=x2apic", "=", "==", "a=b=c",
    ];

    /// <summary>Mutates <paramref name="lines"/> in place; returns what was done.</summary>
    public string MutateTrace(List<string> lines)
    {
        if (lines.Count == 0)
        {
            lines.Add("{}");
            return "an empty trace got {}";
        }
        var at = Text.Next(lines.Count);
        var choice = Text.Next(20);
        switch (choice)
        {
            case 0 or 1:
                return Text.RemoveOrRepeatLine(lines, at, remove: choice == 0);
            case 2:
                var other = Text.Next(lines.Count);
                (lines[at], lines[other]) = (lines[other], lines[at]);
                return $"lines {at + 1} and {other + 1} swapped";
            case 3:
                lines.Insert(at, Text.Pick(["", "   ", "\t", "\r", "\u00a0", "\ufeff", "null", "[]", "\"x\"", "42", "{", "}"]));
                return $"an odd line at {at + 1}";
            case 4 when Text.Chance(20):
                lines.Insert(at, "{\"Vm\":\"x\"\0\0\0}");
                return $"a NUL line at {at + 1}";
            case 5:
                lines[^1] = lines[^1][..Text.Next(lines[^1].Length)];
                return "the last line torn";
            case 6 or 7:
                lines[at] = Text.Mutate(lines[at], lines);
                return $"line {at + 1} mutated as text";
            default:
                lines[at] = MutateEvent(lines[at], lines, out var what);
                return $"line {at + 1}: {what}";
        }
    }

    private string MutateEvent(string line, List<string> lines, out string what)
    {
        var e = ParseObject(line);
        if (e is null)
        {
            what = "not an event, mutated as text";
            return Text.Mutate(line, lines);
        }
        var name = Text.Pick(Properties);
        switch (Text.Next(8))
        {
            case 0:
                e.Remove(name);
                what = name + " removed";
                break;
            case 1:
                var odd = Text.Pick(OddValues);
                e[name] = JsonNode.Parse(odd.Replace("\\ud800", LoneSurrogate, StringComparison.Ordinal));
                what = $"{name} = {odd}";
                break;
            case 2:
                e["Event"] = Text.Pick(Events);
                what = "Event = " + e["Event"];
                break;
            case 3:
                e["Register"] = Text.Pick(Registers);
                what = "Register = " + e["Register"];
                break;
            case 4 or 5:
                var pairs = (e["Detail"] is JsonValue v && v.TryGetValue<string>(out var d) ? d : "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
                var pair = Text.Pick(OddPairs);
                var key = pair.Split('=')[0];
                var index = pairs.FindIndex(p => p.StartsWith(key + "=", StringComparison.Ordinal));
                if (index >= 0 && Text.Chance(80))
                {
                    pairs[index] = pair;
                }
                else
                {
                    pairs.Insert(Text.Next(pairs.Count + 1), pair);
                }
                e["Detail"] = string.Join(' ', pairs);
                what = "Detail " + pair;
                break;
            case 6 when e[name] is JsonValue number && number.TryGetValue<long>(out var n):
                var changed = Text.Next(5) switch
                {
                    0 => n + 1,
                    1 => n - 1,
                    2 => -n,
                    3 => long.MaxValue - Text.Next(2),
                    _ => long.MinValue + Text.Next(2),
                };
                e[name] = changed;
                what = $"{name} = {changed}";
                break;
            default:
                // A value from another line.
                var donor = ParseObject(Text.Pick(lines));
                var value = donor?[name]?.DeepClone();
                e[name] = value;
                what = $"{name} from another line";
                break;
        }
        return e.ToJsonString().Replace(LoneSurrogate, "\\ud800", StringComparison.Ordinal);
    }

    private static JsonObject? ParseObject(string line)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Stands for the JSON string <c>"\ud800"</c>, which a JSON node cannot write, until the line is written.</summary>
    private const string LoneSurrogate = "@lone-surrogate@";
}
