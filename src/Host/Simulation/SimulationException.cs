namespace VApicActors.Host.Simulation;

/// <summary>The default simulation met something a Linux guest would not accept (an AP that did not start, a lost interrupt).</summary>
public sealed class SimulationException(string message) : Exception(message);
