namespace VApicActors.Host.Configuration;

/// <summary>A command-line value that replaces one HOCON key.</summary>
/// <param name="Key">Full HOCON path, e.g. <c>vapic.simulation.vcpus</c>.</param>
/// <param name="HoconValue">The value as HOCON text (quoted when it is a string).</param>
/// <param name="Option">The command-line option it came from, for error messages.</param>
public sealed record SettingOverride(string Key, string HoconValue, string Option)
{
    public static SettingOverride Text(string key, string value, string option) =>
        new(key, System.Text.Json.JsonSerializer.Serialize(value), option);

    public static SettingOverride Number(string key, long value, string option) =>
        new(key, value.ToString(System.Globalization.CultureInfo.InvariantCulture), option);

    public static SettingOverride Flag(string key, bool value, string option) =>
        new(key, value ? "on" : "off", option);

    public static SettingOverride List(string key, IEnumerable<string> values, string option) =>
        new(key, "[" + string.Join(", ", values.Select(v => System.Text.Json.JsonSerializer.Serialize(v))) + "]", option);
}
