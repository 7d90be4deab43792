namespace VApicActors.Host.TraceTools;

/// <summary>The generated <c>.vapic</c> script and the report of what went into it.</summary>
public sealed record KvmTraceImportResult(string Script, KvmTraceImportReport Report);
