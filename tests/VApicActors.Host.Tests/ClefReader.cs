using System.Text.Json;

namespace VApicActors.Host.Tests;

/// <summary>Reads a compact-JSON (CLEF) file back: one JSON object per line.</summary>
public static class ClefReader
{
    public static IReadOnlyList<JsonElement> Read(string path) =>
        File.ReadAllLines(path)
            .Where(l => !string.IsNullOrWhiteSpace(l))
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .ToList();
}
