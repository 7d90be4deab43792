using VApicActors.Host.Tests.Service;

namespace VApicActors.Host.Tests.Fuzz;

/// <summary>
/// The project's scenario lines, a few of them mutated as <see cref="ScenarioFuzzTests"/> mutates them, sent as requests to
/// <c>vapic serve</c>. Every request gets one answer (<c>OK</c>, <c>#GP</c> or <c>ERR REASON</c> in one line), a bad one
/// never blames the simulator, the lines before the first mutated one get the answers their expectations say, and the
/// session goes on after each error.
/// </summary>
public sealed class ServiceRequestFuzzTests(ServiceFixture fixture) : IClassFixture<ServiceFixture>
{
    private const int Cases = 100;
    private const int Seed = 0x5eed_0005;
    private const int WindowLines = 30;

    private static readonly string ScenarioDirectory = Path.Combine(AppContext.BaseDirectory, "scenarios");

    [Fact]
    public async Task MutatedRequests_EachAnsweredInOneLine_AndTheSessionGoesOn()
    {
        var corpus = Directory.GetFiles(ScenarioDirectory, "*.vapic")
            .Where(f => !f.EndsWith("long-runs.vapic", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(File.ReadAllLines)
            .ToList();
        var mutator = new TextMutator(Seed);
        var problems = new List<string>();
        await using var service = fixture.Start();

        for (var n = 0; n < Cases && problems.Count < 10; n++)
        {
            // A window that starts at a `vm` line, so that the lines before the first mutation keep their meaning.
            var script = mutator.Pick(corpus);
            var vmLines = Enumerable.Range(0, script.Length).Where(i => script[i].TrimStart().StartsWith("vm ", StringComparison.Ordinal)).ToList();
            var start = vmLines.Count > 0 ? mutator.Pick(vmLines) : 0;
            var lines = script.Skip(start).Take(WindowLines).ToList();
            var first = int.MaxValue;
            for (var k = mutator.Next(1, 4); k > 0; k--)
            {
                var at = mutator.Next(1, Math.Max(lines.Count, 2));
                if (at < lines.Count)
                {
                    lines[at] = mutator.Mutate(lines[at], lines).Replace('\n', ' ');
                    first = Math.Min(first, at);
                }
            }

            await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
            for (var i = 0; i < lines.Count; i++)
            {
                var answer = await client.RequestAsync(lines[i]);
                var problem = answer switch
                {
                    null => "no answer: the session ended",
                    _ when !(answer == "OK" || answer.StartsWith("OK ", StringComparison.Ordinal) || answer == "#GP" || answer.StartsWith("ERR ", StringComparison.Ordinal)) => "an answer that is not OK, #GP or ERR: " + answer,
                    _ when answer.Contains("the simulator failed", StringComparison.Ordinal) => "blamed on the simulator: " + answer,
                    _ when answer.Length > 600 => $"an answer of {answer.Length} characters",
                    _ when i < first && answer.StartsWith("ERR ", StringComparison.Ordinal) => "a line before the first mutated one refused: " + answer,
                    _ => null,
                };
                if (problem is not null)
                {
                    problems.Add($"case {n}, line {i + 1} of the window ({Shorten(lines[i])}): {problem}");
                    break;
                }
            }
            if (await client.RequestAsync("clock") is not { } clock || !clock.StartsWith("OK ", StringComparison.Ordinal))
            {
                problems.Add($"case {n}: the session does not answer after its lines");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..120] + $"... ({text.Length} characters)";
}
