using System.Text;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Service;

/// <summary>
/// How the service answers a request, in the style of QEMU's qtest:
/// <list type="bullet">
/// <item>a command whose result is <c>OK</c>, and a blank or comment-only line: <c>OK</c>;</item>
/// <item>a value or vector: <c>OK 0x41</c>; a count or time: <c>OK 1000</c> (decimal, as the language prints it);</item>
/// <item>a vector list: <c>OK 0x31 0x41</c>, or <c>OK none</c>; another word: <c>OK none</c>, <c>OK not-running</c>, <c>OK running</c>, <c>OK wait-for-sipi</c>;</item>
/// <item>a fault: <c>#GP</c>;</item>
/// <item>a line with <c>-&gt; EXPECTED</c>: <c>OK</c> when the result matches, else <c>ERR expected X, got Y</c>;</item>
/// <item>a line that cannot be run (script error, limit, unreadable line): <c>ERR reason</c>.</item>
/// </list>
/// Asynchronous lines, which are never answers, start with <c>IRQ </c>; the last line of a session starts with <c>BYE</c>.
/// </summary>
public static class ServiceResponse
{
    public const string Ok = "OK";
    public const string GeneralProtection = "#GP";
    public const string ErrorPrefix = "ERR ";
    public const string ExpectedPrefix = "ERR expected ";
    public const string IrqPrefix = "IRQ ";

    /// <summary>Starts the line a cluster VM sends its sessions when it restarted from a snapshot and lost work.</summary>
    public const string LostPrefix = "LOST ";

    /// <summary>A line the session did not ask for (an interrupt, a loss), which is never an answer.</summary>
    public static bool IsUnsolicited(string line) =>
        line.StartsWith(IrqPrefix, StringComparison.Ordinal) || line.StartsWith(LostPrefix, StringComparison.Ordinal);
    public const string ByePrefix = "BYE";

    /// <summary>The answer to a request that produced <paramref name="outcome"/>.</summary>
    public static string Format(LineOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.Kind switch
        {
            LineOutcomeKind.Empty or LineOutcomeKind.Passed => Ok,
            LineOutcomeKind.Failed => ErrorPrefix + OneLine($"expected {outcome.Expected!.Text}, got {outcome.Result!.Text}"),
            LineOutcomeKind.Error => Error(outcome.Error ?? "the request failed"),
            _ => Format(outcome.Result!),
        };
    }

    /// <summary>The answer carrying <paramref name="result"/> (no expectation).</summary>
    public static string Format(ScenarioResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (ReferenceEquals(result, ScenarioResult.Ok) || (result.Kind == ScenarioResultKind.Word && string.Equals(result.Text, Ok, StringComparison.OrdinalIgnoreCase)))
        {
            return Ok;
        }
        if (result.Kind == ScenarioResultKind.Word && string.Equals(result.Text, GeneralProtection, StringComparison.OrdinalIgnoreCase))
        {
            return GeneralProtection;
        }
        return Ok + " " + OneLine(result.Text);
    }

    /// <summary><c>ERR reason</c>, on one line.</summary>
    public static string Error(string reason) => ErrorPrefix + OneLine(reason);

    /// <summary>The asynchronous line sent when <paramref name="vector"/> becomes deliverable at vCPU <paramref name="vcpu"/>.</summary>
    public static string Irq(int vcpu, int vector) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"IRQ raise {vcpu} 0x{vector:x2}");

    /// <summary>The last line of a session: <c>BYE</c>, or <c>BYE reason</c>.</summary>
    public static string Bye(string? reason = null) => string.IsNullOrEmpty(reason) ? ByePrefix : ByePrefix + " " + OneLine(reason);

    /// <summary>Text with every line break or other control character turned into a space.</summary>
    public static string OneLine(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            sb.Append(char.IsControl(c) ? ' ' : c);
        }
        return sb.ToString();
    }
}
