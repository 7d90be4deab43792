namespace VApicActors.Host.Tests;

/// <summary>Tests that replace the static Serilog logger (every command-line run does) never run in parallel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerilogCollection
{
    public const string Name = "static Serilog logger";
}
