using System.Text;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Writes scenario lines: selects the vCPU with <c>cpu N</c> only when it changes, puts the origin of each line in
/// a trailing comment, and counts commands and expectations.
/// </summary>
internal sealed class ScenarioScriptBuilder
{
    private const int CommentColumn = 44;
    private readonly StringBuilder _text = new();
    private int _selected;

    public int Commands { get; private set; }
    public int Expectations { get; private set; }

    public void Comment(string text) => _text.Append("# ").Append(text).Append('\n');

    public void Blank() => _text.Append('\n');

    /// <summary>A command that does not depend on the selected vCPU (<c>vm</c>, <c>msi</c>).</summary>
    public void Global(string command, string? note = null)
    {
        Line(command, note);
        if (command.StartsWith("vm ", StringComparison.Ordinal))
        {
            _selected = 0;
        }
    }

    /// <summary>A command run by <paramref name="vcpu"/>.</summary>
    public void On(int vcpu, string command, string? note = null)
    {
        Select(vcpu);
        Line(command, note);
    }

    /// <summary>A command run by <paramref name="vcpu"/> whose result must be <paramref name="expected"/>.</summary>
    public void Expect(int vcpu, string command, string expected, string? note = null)
    {
        Select(vcpu);
        Line($"{command} -> {expected}", note);
        Expectations++;
    }

    private void Select(int vcpu)
    {
        if (vcpu != _selected)
        {
            Line($"cpu {vcpu}", null);
            _selected = vcpu;
        }
    }

    private void Line(string command, string? note)
    {
        Commands++;
        _text.Append(command);
        if (note is not null)
        {
            _text.Append(' ', Math.Max(1, CommentColumn - command.Length)).Append("# ").Append(note);
        }
        _text.Append('\n');
    }

    public override string ToString() => _text.ToString();
}
