using Akka.Configuration;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Tests.Stress;

public sealed class StressSettingsTests
{
    [Fact]
    public void Create_ShippedHoconFile_BindsItsDefaults()
    {
        var settings = StressSettings.Create(StressSettings.LoadConfig());

        Assert.Equal(64, settings.Vcpus);
        Assert.False(settings.X2Apic);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.Duration);
        Assert.Equal(20, settings.Mix.Weights[(int)OperationKind.Callfn]);
        Assert.Equal(10_000, settings.ClockStepNs);
        Assert.False(settings.LoseOneIpi);
    }

    [Theory]
    [InlineData("vcpus = 0", "vapic.stress.vcpus")]
    [InlineData("mode = x3apic", "vapic.stress.mode")]
    [InlineData("duration = forever", "vapic.stress.duration")]
    [InlineData("mix.fixed = -1", "vapic.stress.mix.fixed")]
    [InlineData("trace-check = maybe", "vapic.stress.trace-check")]
    public void Create_BadValue_NamesTheKey(string line, string key)
    {
        var config = ConfigurationFactory.ParseString("vapic.stress { " + line + " }").WithFallback(StressSettings.LoadConfig());

        var e = Assert.Throws<StressSettingsException>(() => StressSettings.Create(config));

        Assert.Equal(key, e.Key);
    }

    [Fact]
    public void Override_MixAndSeconds_ReplaceTheHoconValues()
    {
        var settings = StressCommand.Override(StressSettings.Create(StressSettings.LoadConfig()), 8, null, "x2apic", "sparse", 2, null, 99, "fixed=3,read=0", false);

        Assert.Equal(8, settings.Vcpus);
        Assert.True(settings.X2Apic && settings.SparseApicIds);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.Duration);
        Assert.Equal(0, settings.Operations);
        Assert.Equal(3, settings.Mix.Weights[(int)OperationKind.Fixed]);
        Assert.Equal(0, settings.Mix.Weights[(int)OperationKind.Read]);
        Assert.Throws<StressSettingsException>(() => StressCommand.Override(settings, null, null, null, null, null, null, null, "bogus=1", false));
    }

    [Fact]
    public void Vcpus_NotAboveTheFaultVcpu_IsRefusedNamingBoth()
    {
        var armed = StressSettings.Create(StressSettings.LoadConfig()) with { LoseOneIpi = true, FaultVcpu = 5 };

        var e = Assert.Throws<StressSettingsException>(() => StressCommand.Override(armed, 2, null, null, null, null, null, null, null, false));

        Assert.Equal("--vcpus", e.Key);
        Assert.Equal("must be more than vapic.stress.fault-vcpu (5), the vCPU whose IPI lose-one-ipi loses", e.Problem);
    }

    [Fact]
    public void FaultVcpu_WithFaultInjectionOff_DoesNotLimitTheVcpus()
    {
        // The key only says which vCPU loses an IPI when lose-one-ipi is on; off, it must not refuse a smaller VM.
        var config = ConfigurationFactory.ParseString("vapic.stress { lose-one-ipi = off, fault-vcpu = 5 }").WithFallback(StressSettings.LoadConfig());

        var settings = StressCommand.Override(StressSettings.Create(config), 2, null, null, null, null, null, null, null, false);

        Assert.Equal(2, settings.Vcpus);
    }

    [Theory]
    [InlineData("99=5", "is not name=weight")]
    [InlineData("0=0", "is not name=weight")]
    [InlineData("fixed=1,fixed=2", "'fixed' is given twice")]
    [InlineData("fixed=-1", "a weight is 0 to 1000000")]
    [InlineData("fixed=x", "is not name=weight")]
    [InlineData("fixed=99999999999", "'fixed=99999999999': a weight is 0 to 1000000")]
    [InlineData("", "names no operation kind")]
    [InlineData(",,", "names no operation kind")]
    public void Mix_Malformed_IsRefusedSayingWhy(string mix, string problem)
    {
        var e = Assert.Throws<StressSettingsException>(() =>
            StressCommand.Override(StressSettings.Create(StressSettings.LoadConfig()), null, null, null, null, null, null, null, mix, false));
        Assert.Equal("--mix", e.Key);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", e.Message, StringComparison.Ordinal);
    }
}
