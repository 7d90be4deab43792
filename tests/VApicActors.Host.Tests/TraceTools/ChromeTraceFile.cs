using System.Text.Json;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary>
/// A Chrome trace-event file read back and checked against the format: the object form with a
/// <c>traceEvents</c> array; every event with name, phase, pid and tid; every non-metadata event with a category
/// and a numeric timestamp; complete slices with a duration and properly nested per thread; instants with a
/// scope; flow ends with ids, each id with exactly one start and one finish, bound to a slice of their thread
/// that encloses their time; every thread and process named.
/// </summary>
public sealed class ChromeTraceFile
{
    private ChromeTraceFile(List<JsonElement> events) => Events = events;

    public List<JsonElement> Events { get; }

    public IEnumerable<JsonElement> Phase(string ph) => Events.Where(e => e.GetProperty("ph").GetString() == ph);

    public string ThreadName(JsonElement e) => Phase("M")
        .Single(m => m.GetProperty("name").GetString() == "thread_name"
                     && m.GetProperty("pid").GetInt32() == e.GetProperty("pid").GetInt32()
                     && m.GetProperty("tid").GetInt32() == e.GetProperty("tid").GetInt32())
        .GetProperty("args").GetProperty("name").GetString()!;

    public static decimal Ts(JsonElement e) => e.GetProperty("ts").GetDecimal();

    public static decimal Dur(JsonElement e) => e.GetProperty("dur").GetDecimal();

    public static string Name(JsonElement e) => e.GetProperty("name").GetString()!;

    /// <summary>Parses and validates the file; throws (an assertion) at the first violation.</summary>
    public static ChromeTraceFile Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("traceEvents").ValueKind);
        var events = root.GetProperty("traceEvents").EnumerateArray().Select(e => e.Clone()).ToList();
        var file = new ChromeTraceFile(events);
        file.Validate();
        return file;
    }

    private void Validate()
    {
        var named = new HashSet<(int, int)>();
        var processes = new HashSet<int>();
        foreach (var e in Events)
        {
            Assert.Equal(JsonValueKind.String, e.GetProperty("name").ValueKind);
            var ph = e.GetProperty("ph").GetString();
            Assert.Contains(ph, new[] { "M", "X", "i", "s", "f" });
            var pid = e.GetProperty("pid").GetInt32();
            var tid = e.GetProperty("tid").GetInt32();
            if (ph == "M")
            {
                Assert.Equal(JsonValueKind.Object, e.GetProperty("args").ValueKind);
                switch (Name(e))
                {
                    case "thread_name":
                        named.Add((pid, tid));
                        break;
                    case "process_name":
                        processes.Add(pid);
                        break;
                }
                continue;
            }
            Assert.Equal(JsonValueKind.String, e.GetProperty("cat").ValueKind);
            Assert.True(Ts(e) >= 0, $"negative ts in {e}");
            switch (ph)
            {
                case "X":
                    Assert.True(Dur(e) >= 0, $"negative dur in {e}");
                    break;
                case "i":
                    Assert.Contains(e.GetProperty("s").GetString(), new[] { "t", "p", "g" });
                    break;
                case "s" or "f":
                    Assert.Equal(JsonValueKind.Number, e.GetProperty("id").ValueKind);
                    break;
            }
        }

        foreach (var e in Events.Where(e => e.GetProperty("ph").GetString() != "M"))
        {
            var thread = (e.GetProperty("pid").GetInt32(), e.GetProperty("tid").GetInt32());
            Assert.Contains(thread, named);
            Assert.Contains(thread.Item1, processes);
        }

        // Slices nest per thread: two slices either do not overlap or one contains the other.
        foreach (var thread in Phase("X").GroupBy(Thread))
        {
            var slices = thread.Select(s => (Start: Ts(s), End: Ts(s) + Dur(s))).OrderBy(s => s.Start).ThenByDescending(s => s.End).ToList();
            var open = new Stack<decimal>();
            foreach (var (start, end) in slices)
            {
                while (open.Count > 0 && open.Peek() <= start)
                {
                    open.Pop();
                }
                Assert.True(open.Count == 0 || end <= open.Peek(), $"slice [{start}, {end}] crosses its parent's end {(open.Count > 0 ? open.Peek() : 0)} on thread {thread.Key}");
                open.Push(end);
            }
        }

        // Every flow has both ends, each bound to a slice of its thread that encloses it, and goes forward in time.
        foreach (var flow in Events.Where(e => e.GetProperty("ph").GetString() is "s" or "f").GroupBy(e => e.GetProperty("id").GetInt64()))
        {
            var start = Assert.Single(flow, e => e.GetProperty("ph").GetString() == "s");
            var finish = Assert.Single(flow, e => e.GetProperty("ph").GetString() == "f");
            Assert.Equal(2, flow.Count());
            Assert.Equal(Name(start), Name(finish));
            Assert.Equal(start.GetProperty("cat").GetString(), finish.GetProperty("cat").GetString());
            Assert.Equal("e", finish.GetProperty("bp").GetString());
            Assert.True(Ts(start) <= Ts(finish), $"flow {flow.Key} goes back in time");
            Assert.NotNull(Enclosing(start));
            Assert.NotNull(Enclosing(finish));
        }
    }

    /// <summary>The innermost slice of <paramref name="e"/>'s thread whose span includes its time, or null.</summary>
    public JsonElement? Enclosing(JsonElement e) => Phase("X")
        .Where(s => Thread(s) == Thread(e) && Ts(s) <= Ts(e) && Ts(e) <= Ts(s) + Dur(s))
        .OrderBy(Dur)
        .Select(s => (JsonElement?)s)
        .FirstOrDefault();

    private static (int, int) Thread(JsonElement e) => (e.GetProperty("pid").GetInt32(), e.GetProperty("tid").GetInt32());
}
