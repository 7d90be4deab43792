using Akka.Actor;
using Akka.Configuration;

namespace VApicActors.Host.Tests;

/// <summary>One quiet actor system shared by the tests of a class.</summary>
public sealed class ActorSystemFixture : IAsyncLifetime
{
    public ActorSystem System { get; private set; } = null!;

    public Task InitializeAsync()
    {
        System = ActorSystem.Create("host-tests", ConfigurationFactory.ParseString("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await System.Terminate();
}
