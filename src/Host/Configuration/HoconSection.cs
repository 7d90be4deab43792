using System.Globalization;
using Akka.Configuration;

namespace VApicActors.Host.Configuration;

/// <summary>
/// Reads the keys of one HOCON section (<c>vapic.service</c>, <c>vapic.cluster</c>) with range checks. Every
/// problem is a <see cref="SettingsException"/> that names the full key and what it allows.
/// </summary>
public sealed class HoconSection
{
    private readonly Config _config;

    public HoconSection(Config config, string section)
    {
        _config = config ?? throw new ArgumentNullException(nameof(config));
        Section = section;
    }

    public string Section { get; }

    public string Key(string name) => Section + "." + name;

    public string ReadString(string name) => ReadRaw(Key(name), "must be a string");

    public int ReadInt(string name, int min, int max)
    {
        var key = Key(name);
        var text = ReadRaw(key, $"must be a whole number from {min} to {max}");
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new SettingsException(key, $"must be a whole number from {min} to {max}, got \"{text}\"");
        }
        return value;
    }

    public TimeSpan ReadDuration(string name, TimeSpan min, TimeSpan max)
    {
        var key = Key(name);
        var text = ReadRaw(key, "must be a duration such as 10s, 500ms or 5m");
        TimeSpan value;
        try
        {
            value = _config.GetTimeSpan(key, null, allowInfinite: false);
        }
        catch (Exception e)
        {
            throw new SettingsException(key, $"must be a duration such as 10s, 500ms or 5m, got \"{text}\"", e);
        }
        if (value < min || value > max)
        {
            throw new SettingsException(key, $"must be from {BoundText(min)} to {BoundText(max)}, got \"{text}\"");
        }
        return value;
    }

    /// <summary>A bound the way the files and their comments write it (<c>100ms</c>, <c>10m</c>, <c>1d</c>), not as a TimeSpan (<c>00:00:00.1000000</c>).</summary>
    private static string BoundText(TimeSpan bound) =>
        bound >= TimeSpan.FromDays(1) && bound.Ticks % TimeSpan.TicksPerDay == 0
            ? bound.Days.ToString(CultureInfo.InvariantCulture) + "d"
            : VapicSettings.DurationText(bound);

    public bool ReadBool(string name)
    {
        var key = Key(name);
        var text = ReadRaw(key, "must be on or off").ToLowerInvariant();
        return text switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new SettingsException(key, $"must be on or off, got \"{text}\""),
        };
    }

    /// <summary>A list of strings; a missing key or an empty list is an empty list.</summary>
    public IReadOnlyList<string> ReadStringList(string name)
    {
        var key = Key(name);
        if (!_config.HasPath(key))
        {
            throw new SettingsException(key, "missing");
        }
        if (!HoconShapes.TryReadList(_config, key, out var items, out var problem))
        {
            throw new SettingsException(key, $"must be a list of strings such as [\"a\", \"b\"], got {problem}");
        }
        return items;
    }

    /// <summary>A single value; a list or an object is refused with <paramref name="expected"/> (what the key allows).</summary>
    private string ReadRaw(string key, string expected)
    {
        if (!_config.HasPath(key))
        {
            throw new SettingsException(key, "missing");
        }
        if (HoconShapes.ShapeOf(_config, key) is { } shape)
        {
            throw new SettingsException(key, $"{expected}, got {shape}");
        }
        try
        {
            return _config.GetString(key) ?? string.Empty;
        }
        catch (Exception e)
        {
            throw new SettingsException(key, $"cannot be read as text: {e.Message}", e);
        }
    }
}
