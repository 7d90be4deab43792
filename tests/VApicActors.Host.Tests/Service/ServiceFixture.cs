using Akka.Actor;
using Akka.Configuration;
using VApicActors.Host.Service;

namespace VApicActors.Host.Tests.Service;

/// <summary>One quiet actor system for the service tests of a class; each test starts its own service on a free loopback port.</summary>
public sealed class ServiceFixture : IAsyncLifetime
{
    public ActorSystem System { get; private set; } = null!;

    /// <summary>The defaults from hocon/service.hocon, listening on 127.0.0.1 port 0.</summary>
    public static ServiceSettings Settings => ServiceSettings.Load() with { Listen = new HostPort("127.0.0.1", 0) };

    public VapicService Start(ServiceSettings? settings = null) => VapicService.Start(System, settings ?? Settings);

    public Task InitializeAsync()
    {
        System = ActorSystem.Create("service-tests", ConfigurationFactory.ParseString("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await System.Terminate();
}
