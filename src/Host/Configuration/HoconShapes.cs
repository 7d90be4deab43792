using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace VApicActors.Host.Configuration;

/// <summary>
/// What a HOCON value is (a single value, a list or an object), so that a key given the wrong kind of value is refused
/// with a message that says so: Akka's <see cref="Config.GetString(string, string)"/> reads a list or an object as null
/// and <see cref="Config.GetStringList(string)"/> reads an object inside a list as null.
/// </summary>
public static class HoconShapes
{
    /// <summary>Null for a single value (string, number, boolean, duration); otherwise "a list", "an object" or "an empty list".</summary>
    public static string? ShapeOf(Config config, string key)
    {
        ArgumentNullException.ThrowIfNull(config);
        var value = config.HasPath(key) ? config.GetValue(key) : null;
        return value is null ? null : ShapeOf(value);
    }

    /// <summary>Null for a single value; otherwise what the value is instead.</summary>
    public static string? ShapeOf(HoconValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.IsObject() ? "an object" : value.IsArray() ? "a list" : value.IsString() ? null : "an empty list";
    }

    /// <summary>
    /// The items of a list of single values (strings or numbers). An empty list is empty. False, with what is wrong in
    /// <paramref name="problem"/> ("a single value", "an object", "an object at item 2"), when the value is not such a list.
    /// </summary>
    public static bool TryReadList(Config config, string key, out IReadOnlyList<string> items, out string problem)
    {
        ArgumentNullException.ThrowIfNull(config);
        items = [];
        problem = string.Empty;
        var value = config.GetValue(key);
        if (value is null || (!value.IsArray() && !value.IsObject() && !value.IsString()))
        {
            return true; // [] (or nothing): Akka's parser keeps an empty list as an empty value.
        }
        if (!value.IsArray())
        {
            problem = value.IsObject() ? "an object" : $"the single value \"{value.GetString()}\"";
            return false;
        }
        var elements = value.GetArray();
        var list = new List<string>(elements.Count);
        for (var i = 0; i < elements.Count; i++)
        {
            if (ShapeOf(elements[i]) is { } shape)
            {
                problem = $"{shape} at item {i + 1}";
                return false;
            }
            list.Add(elements[i].GetString());
        }
        items = list;
        return true;
    }
}
