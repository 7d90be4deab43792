using System.Collections.Immutable;

namespace VApicActors.Host.Stress;

/// <summary>Relative weights of the operation kinds, and a seeded choice among them.</summary>
public sealed class OperationMix
{
    public const int MaxWeight = 1_000_000;

    private readonly int[] _cumulative;

    public OperationMix(IReadOnlyDictionary<OperationKind, int> weights)
        : this(weights, allowEmpty: false)
    {
    }

    /// <param name="allowEmpty">
    /// Keep a mix whose weights are all 0, as read from a file that an option such as <c>--mix</c> may still complete;
    /// <see cref="StressSettings.Validate"/> refuses it if it is run as it is.
    /// </param>
    internal OperationMix(IReadOnlyDictionary<OperationKind, int> weights, bool allowEmpty)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var all = Enum.GetValues<OperationKind>();
        var builder = ImmutableArray.CreateBuilder<int>(all.Length);
        _cumulative = new int[all.Length];
        var total = 0;
        foreach (var kind in all)
        {
            var w = weights.TryGetValue(kind, out var given) ? given : 0;
            if (w is < 0 or > MaxWeight)
            {
                throw new ArgumentOutOfRangeException(nameof(weights), w, Key(kind) + " must be 0 to " + MaxWeight);
            }
            builder.Add(w);
            total += w;
            _cumulative[(int)kind] = total;
        }
        if (total == 0 && !allowEmpty)
        {
            throw new ArgumentException("at least one weight must be above 0", nameof(weights));
        }
        Weights = builder.MoveToImmutable();
        Total = total;
    }

    /// <summary>The weight of each <see cref="OperationKind"/>, by its value.</summary>
    public ImmutableArray<int> Weights { get; }

    public int Total { get; }

    /// <summary>The kind a draw in [0, <see cref="Total"/>) picks.</summary>
    public OperationKind Pick(int draw)
    {
        for (var i = 0; i < _cumulative.Length; i++)
        {
            if (draw < _cumulative[i])
            {
                return (OperationKind)i;
            }
        }
        return (OperationKind)(_cumulative.Length - 1);
    }

    /// <summary>The HOCON key and <c>--mix</c> name of a kind.</summary>
    public static string Key(OperationKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>Overrides some weights from "name=weight,name=weight" (the <c>--mix</c> syntax).</summary>
    public OperationMix With(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var weights = Enum.GetValues<OperationKind>().ToDictionary(k => k, k => Weights[(int)k]);
        var byName = Enum.GetValues<OperationKind>().ToDictionary(Key, k => k, StringComparer.OrdinalIgnoreCase);
        var given = new HashSet<OperationKind>();
        var parts = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            // An empty --mix (a variable that expanded to nothing, say) would otherwise run the mix unchanged.
            throw new FormatException("names no operation kind (NAME=W,... with NAME among " + string.Join(", ", byName.Keys) + ")");
        }
        foreach (var part in parts)
        {
            // Names only (an enum would also take "0" for fixed), each once, weights in range. A whole number too
            // big for a weight is out of range, not malformed.
            var eq = part.IndexOf('=');
            if (eq <= 0 || !byName.TryGetValue(part[..eq].Trim(), out var kind)
                || !System.Numerics.BigInteger.TryParse(part[(eq + 1)..].Trim(), System.Globalization.NumberStyles.AllowLeadingSign,
                    System.Globalization.CultureInfo.InvariantCulture, out var weight))
            {
                throw new FormatException("'" + part + "' is not name=weight with a name among " + string.Join(", ", byName.Keys));
            }
            if (!given.Add(kind))
            {
                throw new FormatException("'" + Key(kind) + "' is given twice");
            }
            if (weight < 0 || weight > MaxWeight)
            {
                throw new FormatException("'" + part + "': a weight is 0 to " + MaxWeight);
            }
            weights[kind] = (int)weight;
        }
        if (weights.Values.All(w => w == 0))
        {
            throw new FormatException("at least one weight must be above 0");
        }
        return new OperationMix(weights);
    }

    public override string ToString() =>
        string.Join(",", Enum.GetValues<OperationKind>().Select(k => Key(k) + "=" + Weights[(int)k]));
}
