namespace VApicActors.Host.Configuration;

/// <summary>The message trace (<c>vapic.trace</c>).</summary>
/// <param name="Enabled">Write the trace.</param>
/// <param name="File">Path of the CLEF file, relative to the current directory.</param>
/// <param name="Filter">A Serilog expression selecting the events to write; empty writes all.</param>
public sealed record TraceSettings(bool Enabled, string File, string Filter)
{
    /// <summary>The trace file's absolute path.</summary>
    public string FullPath => Path.GetFullPath(File);
}
