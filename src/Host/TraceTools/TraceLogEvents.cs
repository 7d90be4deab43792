using System.Text.Json;
using Serilog.Events;
using Serilog.Parsing;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// Turns trace events read back from a file into Serilog <see cref="LogEvent"/>s, with every property of the
/// line, so that the same Serilog expressions that select events while tracing select them afterwards.
/// </summary>
public sealed class TraceLogEvents
{
    private static readonly MessageTemplate NoTemplate = new MessageTemplateParser().Parse("");
    private readonly MessageTemplateParser _parser = new();
    private readonly Dictionary<string, MessageTemplate> _templates = new(StringComparer.Ordinal);

    public LogEvent ToLogEvent(TraceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var template = NoTemplate;
        if (record.MessageTemplate is { } text && !_templates.TryGetValue(text, out template!))
        {
            template = _parser.Parse(text);
            _templates[text] = template;
        }
        var properties = new List<LogEventProperty>(record.Properties.Count);
        foreach (var (name, value) in record.Properties)
        {
            properties.Add(new LogEventProperty(name, Convert(value)));
        }
        return new LogEvent(record.Timestamp ?? DateTimeOffset.UnixEpoch, LogEventLevel.Information, null, template, properties);
    }

    private static LogEventPropertyValue Convert(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => new ScalarValue(value.GetString()),
        JsonValueKind.Number when value.TryGetInt64(out var l) => new ScalarValue(l),
        JsonValueKind.Number when value.TryGetUInt64(out var u) => new ScalarValue(u),
        JsonValueKind.Number when value.TryGetDecimal(out var d) => new ScalarValue(d),
        JsonValueKind.Number => new ScalarValue(value.GetDouble()),
        JsonValueKind.True => new ScalarValue(true),
        JsonValueKind.False => new ScalarValue(false),
        JsonValueKind.Array => new SequenceValue(value.EnumerateArray().Select(Convert)),
        JsonValueKind.Object => new StructureValue(value.EnumerateObject().Select(p => new LogEventProperty(p.Name, Convert(p.Value)))),
        _ => new ScalarValue(null),
    };
}
