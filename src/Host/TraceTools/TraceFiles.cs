using System.Diagnostics.CodeAnalysis;
using VApicActors.Host.Cli;

namespace VApicActors.Host.TraceTools;

/// <summary>Reads a trace file for the trace commands, reporting on the error stream what it could not read.</summary>
internal static class TraceFiles
{
    /// <summary>
    /// Reads <paramref name="path"/>. False (after saying why) when the file cannot be read; otherwise each line
    /// that is not a trace event has been reported as <c>FILE:LINE: error: …</c>.
    /// </summary>
    public static bool TryRead(string path, TextWriter stderr, [NotNullWhen(true)] out TraceReadResult? result)
    {
        try
        {
            result = ClefTraceReader.ReadFile(path);
        }
        catch (Exception e) when (CommandLineFiles.IsFileError(e))
        {
            stderr.WriteLine($"{path}: error: cannot read the trace: {CommandLineFiles.ReadReason(path, e)}");
            result = null;
            return false;
        }
        foreach (var error in result.Errors)
        {
            stderr.WriteLine(error.ToString());
        }
        return true;
    }
}
