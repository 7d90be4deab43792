using System.Globalization;

namespace VApicActors.Host.Scenarios;

/// <summary>What a result is, which decides how it prints and how an expectation compares with it.</summary>
public enum ScenarioResultKind
{
    /// <summary><c>OK</c>, <c>#GP</c>, <c>none</c>, <c>not-running</c>, <c>running</c>, <c>wait-for-sipi</c>.</summary>
    Word,
    /// <summary>A register value or a vector, printed in 0x-prefixed hexadecimal.</summary>
    Value,
    /// <summary>A count or a time, printed in decimal.</summary>
    Count,
    /// <summary>A list of vectors (IRR, ISR, TMR, EOI broadcasts), printed as <c>0x31 0x41</c> or <c>none</c>.</summary>
    Vectors,
}

/// <summary>The result of one command, in the form the language prints and compares.</summary>
public sealed record ScenarioResult
{
    private ScenarioResult(ScenarioResultKind kind, string text, ulong number, IReadOnlyList<int> vectors)
    {
        Kind = kind;
        Text = text;
        Number = number;
        VectorList = vectors;
    }

    public ScenarioResultKind Kind { get; }

    /// <summary>The result as printed.</summary>
    public string Text { get; }

    /// <summary>The numeric result of a <see cref="ScenarioResultKind.Value"/> or <see cref="ScenarioResultKind.Count"/>.</summary>
    public ulong Number { get; }

    /// <summary>The vectors of a <see cref="ScenarioResultKind.Vectors"/> result.</summary>
    public IReadOnlyList<int> VectorList { get; }

    public static ScenarioResult Ok { get; } = Word("OK");
    public static ScenarioResult None { get; } = Word("none");
    public static ScenarioResult GeneralProtection { get; } = Word("#GP");
    public static ScenarioResult NotRunning { get; } = Word("not-running");

    public static ScenarioResult Word(string word) => new(ScenarioResultKind.Word, word, 0, []);

    public static ScenarioResult Value(ulong value) =>
        new(ScenarioResultKind.Value, "0x" + value.ToString("x", CultureInfo.InvariantCulture), value, []);

    /// <summary>A vector: <c>0x41</c>.</summary>
    public static ScenarioResult Vector(int vector) =>
        new(ScenarioResultKind.Value, "0x" + vector.ToString("x2", CultureInfo.InvariantCulture), (ulong)vector, []);

    public static ScenarioResult Count(long count) =>
        new(ScenarioResultKind.Count, count.ToString(CultureInfo.InvariantCulture), (ulong)count, []);

    public static ScenarioResult Vectors(IEnumerable<int> vectors)
    {
        var list = vectors.ToArray();
        var text = list.Length == 0
            ? "none"
            : string.Join(' ', list.Select(v => "0x" + v.ToString("x2", CultureInfo.InvariantCulture)));
        return new ScenarioResult(ScenarioResultKind.Vectors, text, 0, list);
    }

    public override string ToString() => Text;
}
