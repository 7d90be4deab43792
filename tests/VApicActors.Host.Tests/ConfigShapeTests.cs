using Akka.Configuration;
using Akka.Configuration.Hocon;
using VApicActors.Host.Bench;
using VApicActors.Host.Cluster;
using VApicActors.Host.Configuration;
using VApicActors.Host.Service;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests;

/// <summary>Every <c>vapic.*</c> key given the wrong kind of value (an object, a list of objects) is refused naming it.</summary>
public sealed class ConfigShapeTests
{
    private static readonly Config Defaults = HoconSettings.LoadConfig();

    public static TheoryData<string, string> KeysAndWrongShapes()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in LeafKeys(Defaults.GetValue("vapic"), "vapic"))
        {
            data.Add(key, "{ a = 1 }");
            data.Add(key, "[{ a = 1 }]");
            data.Add(key, "[[1]]");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(KeysAndWrongShapes))]
    public void WrongShape_IsRefusedNamingTheKey(string key, string value)
    {
        var config = ConfigurationFactory.ParseString($"{key} = {value}").WithFallback(Defaults);
        var keys = new List<string>();
        foreach (var read in new Action[]
        {
            () => VapicSettings.Create(config),
            () => StressSettings.Create(config),
            () => BenchSettings.Create(config),
            () => ServiceSettings.Create(config),
            () => ClusterSettings.Create(config),
        })
        {
            try
            {
                read();
            }
            catch (SettingsException e)
            {
                keys.Add(e.Key);
            }
            catch (StressSettingsException e)
            {
                keys.Add(e.Key);
            }
        }
        Assert.Equal([key], keys);
    }

    [Theory]
    [InlineData("vapic.stress.apic-ids = [1]", "vapic.stress.apic-ids: must be dense or sparse (one word), not a list")]
    [InlineData("vapic.stress.vcpus = { n = 4 }", "vapic.stress.vcpus: must be an integer from 1 to 4096, not an object")]
    [InlineData("vapic.simulation.mode = [xapic]", "vapic.simulation.mode: must be xapic or x2apic, got a list")]
    [InlineData("vapic.bench.vcpus = 4", "vapic.bench.vcpus: must be a list of vCPU counts such as [4, 64, 256], not the single value \"4\"")]
    public void WrongShape_SaysWhatTheKeyTakesAndWhatItGot(string hocon, string message)
    {
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(Defaults);
        var e = Record.Exception(() =>
        {
            VapicSettings.Create(config);
            StressSettings.Create(config);
            BenchSettings.Create(config);
        });
        Assert.NotNull(e);
        Assert.Contains(message, e.Message);
    }

    private static IEnumerable<string> LeafKeys(HoconValue value, string path)
    {
        if (!value.IsObject())
        {
            yield return path;
            yield break;
        }
        foreach (var (name, child) in value.GetObject().Items)
        {
            foreach (var key in LeafKeys(child, path + "." + name))
            {
                yield return key;
            }
        }
    }
}
