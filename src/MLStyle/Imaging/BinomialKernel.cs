namespace MLStyle.Imaging;

/// <summary>Binomial smoothing kernels: rows of Pascal's triangle normalised to sum 1, zero response at period 2.</summary>
internal static class BinomialKernel
{
    /// <summary>The 1-D kernel of <paramref name="taps"/> taps: 3 → [1 2 1]/4, 5 → [1 4 6 4 1]/16.</summary>
    public static float[] Of(int taps) => taps switch
    {
        3 => new[] { 0.25f, 0.5f, 0.25f },
        5 => new[] { 1f / 16, 4f / 16, 6f / 16, 4f / 16, 1f / 16 },
        _ => throw new ArgumentOutOfRangeException(nameof(taps), taps, "use 3 or 5 taps"),
    };
}
