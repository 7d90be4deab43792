using System.Globalization;

namespace VApicActors.Host.TraceTools;

/// <summary>Numbers the way scripts print them: <c>0x</c> and lower-case hexadecimal digits.</summary>
internal static class Hex
{
    public static string Of(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    public static string Of(long value) => Of(unchecked((ulong)value));
}
