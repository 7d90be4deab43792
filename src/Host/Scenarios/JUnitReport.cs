using System.Globalization;
using System.Text;
using System.Xml;

namespace VApicActors.Host.Scenarios;

/// <summary>One checked line of a script: an expectation that held or failed, or the line that stopped the script.</summary>
/// <param name="Line">The line's number in its file, from 1 (0 when the file could not be read at all).</param>
/// <param name="Text">The line as written, without its comment.</param>
/// <param name="Kind"><see cref="LineOutcomeKind.Passed"/>, <see cref="LineOutcomeKind.Failed"/> or <see cref="LineOutcomeKind.Error"/>.</param>
/// <param name="Message">For a failure or an error, what <c>vapic run</c> prints after <c>FILE:LINE: </c>.</param>
public sealed record ScenarioCase(int Line, string Text, LineOutcomeKind Kind, string? Message);

/// <summary>What one script of a run checked, in order, and how long it took.</summary>
public sealed record ScenarioFileResult(string File, IReadOnlyList<ScenarioCase> Cases, TimeSpan Elapsed)
{
    /// <summary>A script that could not be run at all: its one error, from the line <c>FILE: error: ...</c> that said so.</summary>
    public static ScenarioFileResult Unread(string file, string errorLine, TimeSpan elapsed)
    {
        var prefix = file + ": ";
        var message = errorLine.StartsWith(prefix, StringComparison.Ordinal) ? errorLine[prefix.Length..] : errorLine;
        return new ScenarioFileResult(file, [new ScenarioCase(0, "", LineOutcomeKind.Error, message)], elapsed);
    }
}

/// <summary>
/// A run of scenario scripts as a JUnit XML report (<c>vapic run --junit FILE</c>), the format CI systems show test
/// results in: one <c>testsuite</c> per script, one <c>testcase</c> per expectation (named by its line and command),
/// a <c>failure</c> for an expectation that did not hold (<c>expected X, got Y</c>) and an <c>error</c> for the line
/// that stopped a script, or for a script that could not be read.
/// </summary>
public static class JUnitReport
{
    public static string ToXml(IReadOnlyList<ScenarioFileResult> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var inv = CultureInfo.InvariantCulture;
        using var bytes = new MemoryStream();
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false), CheckCharacters = false };
        using (var writer = XmlWriter.Create(bytes, settings))
        {
            writer.WriteStartDocument();
            writer.WriteStartElement("testsuites");
            writer.WriteAttributeString("name", "vapic run");
            WriteCounts(writer, files.SelectMany(f => f.Cases).ToList(), TimeSpan.FromTicks(files.Sum(f => f.Elapsed.Ticks)));
            foreach (var file in files)
            {
                writer.WriteStartElement("testsuite");
                writer.WriteAttributeString("name", Clean(file.File));
                WriteCounts(writer, file.Cases, file.Elapsed);
                var suite = Clean(Path.GetFileNameWithoutExtension(file.File));
                foreach (var c in file.Cases)
                {
                    writer.WriteStartElement("testcase");
                    writer.WriteAttributeString("classname", suite);
                    writer.WriteAttributeString("name", Clean(c.Line == 0 ? "(the script)" : string.Create(inv, $"line {c.Line}: {c.Text}")));
                    writer.WriteAttributeString("file", Clean(file.File));
                    writer.WriteAttributeString("line", c.Line.ToString(inv));
                    if (c.Kind is LineOutcomeKind.Failed or LineOutcomeKind.Error)
                    {
                        writer.WriteStartElement(c.Kind == LineOutcomeKind.Failed ? "failure" : "error");
                        writer.WriteAttributeString("message", Clean(c.Message ?? ""));
                        writer.WriteAttributeString("type", c.Kind == LineOutcomeKind.Failed ? "expectation" : "script-error");
                        writer.WriteString(Clean(c.Line == 0 ? $"{file.File}: {c.Message}" : string.Create(inv, $"{file.File}:{c.Line}: {c.Message}")));
                        writer.WriteEndElement();
                    }
                    writer.WriteEndElement();
                }
                writer.WriteEndElement();
            }
            writer.WriteEndElement();
            writer.WriteEndDocument();
        }
        // (Through bytes, so that the declaration says UTF-8, the encoding the file is written in.)
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static void WriteCounts(XmlWriter writer, IReadOnlyList<ScenarioCase> cases, TimeSpan elapsed)
    {
        var inv = CultureInfo.InvariantCulture;
        writer.WriteAttributeString("tests", cases.Count.ToString(inv));
        writer.WriteAttributeString("failures", cases.Count(c => c.Kind == LineOutcomeKind.Failed).ToString(inv));
        writer.WriteAttributeString("errors", cases.Count(c => c.Kind == LineOutcomeKind.Error).ToString(inv));
        writer.WriteAttributeString("skipped", "0");
        writer.WriteAttributeString("time", elapsed.TotalSeconds.ToString("0.000", inv));
    }

    /// <summary>
    /// The text with what XML 1.0 cannot hold (control characters, a lone surrogate) replaced by U+FFFD: a script's
    /// line is the user's and may hold anything, and the report must stay a document every CI tool reads.
    /// </summary>
    private static string Clean(string text)
    {
        var clean = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                clean.Append(c).Append(text[++i]);
            }
            else
            {
                clean.Append(XmlConvert.IsXmlChar(c) ? c : '\uFFFD');
            }
        }
        return clean.ToString();
    }
}
