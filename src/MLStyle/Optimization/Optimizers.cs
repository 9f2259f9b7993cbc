#nullable enable
namespace MLStyle.Optimization;

/// <summary>Creates optimisers by name (for command lines and configuration files).</summary>
public static class Optimizers
{
    /// <summary>The accepted names (matched case-insensitively, surrounding whitespace ignored).</summary>
    public static IReadOnlyList<string> Names { get; } = ["lbfgs", "adam"];

    /// <summary>Creates an optimiser.</summary>
    /// <param name="name"><c>"lbfgs"</c> or <c>"adam"</c> (case-insensitive).</param>
    /// <param name="learningRate">Learning rate; <c>null</c> for the optimiser's default (1 for both).</param>
    /// <param name="historySize">L-BFGS history size; <c>null</c> for the default (100). Ignored by Adam.</param>
    /// <param name="lineSearch">L-BFGS line search; <c>null</c> for the default. Ignored by Adam.</param>
    /// <param name="historyPrecision">L-BFGS history storage; <c>null</c> for the default (float32). Ignored by Adam.</param>
    /// <returns>A new optimiser.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a known optimiser.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public static Optimizer Create(string name, float? learningRate = null, int? historySize = null, LineSearch? lineSearch = null,
        HistoryPrecision? historyPrecision = null)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "lbfgs":
            {
                var options = new LbfgsOptions();
                if (learningRate is { } lr) options = options with { LearningRate = lr };
                if (historySize is { } h) options = options with { HistorySize = h };
                if (lineSearch is { } ls) options = options with { LineSearch = ls };
                if (historyPrecision is { } hp) options = options with { HistoryPrecision = hp };
                return new LbfgsOptimizer(options);
            }

            case "adam":
            {
                var options = new AdamOptions();
                if (learningRate is { } lr) options = options with { LearningRate = lr };
                return new AdamOptimizer(options);
            }

            default:
                throw new ArgumentException(
                    $"Unknown optimizer '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name));
        }
    }
}
