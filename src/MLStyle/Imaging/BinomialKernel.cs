namespace MLStyle.Imaging;

/// <summary>Binomial smoothing kernels: rows of Pascal's triangle normalised to sum 1, zero response at period 2.</summary>
internal static class BinomialKernel
{
    /// <summary>
    /// The 1-D kernel of <paramref name="taps"/> taps (3, 5, 7 or 9): row taps − 1 of Pascal's triangle over 2^(taps − 1),
    /// e.g. 3 → [1 2 1]/4, 5 → [1 4 6 4 1]/16. Its variance is (taps − 1)/4 pixels².
    /// </summary>
    public static float[] Of(int taps)
    {
        if (taps is not (3 or 5 or 7 or 9)) throw new ArgumentOutOfRangeException(nameof(taps), taps, "use 3, 5, 7 or 9 taps");
        var k = new float[taps];
        double c = 1, scale = Math.Pow(2, taps - 1);
        for (int i = 0; i < taps; i++)
        {
            k[i] = (float)(c / scale);
            c = c * (taps - 1 - i) / (i + 1);
        }
        return k;
    }
}
