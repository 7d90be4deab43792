namespace VApicActors.Host.Scenarios;

/// <summary>A line that cannot be run: unknown verb, bad number, missing or extra argument, and so on.</summary>
public sealed class ScenarioException(string message) : Exception(message);
