using Akka.Configuration;

namespace VApicActors.Host.Configuration;

/// <summary>
/// Loads <c>hocon/vapic.hocon</c> from beside the binary, lays command-line overrides over it and
/// validates the result into <see cref="VapicSettings"/>.
/// </summary>
public static class HoconSettings
{
    public const string FileName = "vapic.hocon";

    /// <summary>The defaults file: <c>hocon/vapic.hocon</c> next to the binary, wherever the current directory is.</summary>
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "hocon", FileName);

    /// <summary>The merged configuration (overrides first, then the file) and the settings read from it.</summary>
    public static (Config Config, VapicSettings Settings) Load(IReadOnlyList<SettingOverride>? overrides = null, string? path = null)
    {
        path ??= DefaultPath;
        if (!File.Exists(path))
        {
            throw new SettingsException(path, "the configuration file does not exist");
        }

        Config config;
        try
        {
            config = ConfigurationFactory.ParseString(File.ReadAllText(path));
        }
        catch (Exception e)
        {
            throw new SettingsException(path, $"not valid HOCON: {e.Message}", e);
        }

        return Apply(config, overrides ?? []);
    }

    /// <summary>Lays overrides over a parsed configuration and validates it.</summary>
    public static (Config Config, VapicSettings Settings) Apply(Config config, IReadOnlyList<SettingOverride> overrides)
    {
        foreach (var o in overrides)
        {
            Config layer;
            try
            {
                layer = ConfigurationFactory.ParseString($"{o.Key} = {o.HoconValue}");
            }
            catch (Exception e)
            {
                throw new SettingsException(o.Key, $"the value given by {o.Option} is not valid: {e.Message}", e);
            }
            config = layer.WithFallback(config);
        }

        try
        {
            return (config, VapicSettings.Create(config));
        }
        catch (SettingsException e)
        {
            var origin = overrides.LastOrDefault(o => o.Key == e.Key);
            if (origin is null)
            {
                throw;
            }
            throw new SettingsException(e.Key, $"{e.Problem} (set by {origin.Option})", e);
        }
    }
}
