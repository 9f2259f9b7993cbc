using System.Numerics.Tensors;
using MLStyle.Onnx;

namespace MLStyle.Losses;

/// <summary>
/// The DeepDream ascent (Mordvintsev, Olah and Tyka 2015): the octave sizes and the normalised gradient step, on spans for
/// the engine and as ONNX nodes for the ML.NET estimator, from one definition.
/// </summary>
public static class DreamSchedule
{
    /// <summary>The engine's smallest octave: octaves whose short side would fall below it are skipped.</summary>
    public const int MinOctaveSide = 32;

    /// <summary>
    /// The octave sizes of a <paramref name="width"/>×<paramref name="height"/> image, largest (the image's own) first: octave k
    /// is the image divided by <paramref name="scale"/>ᵏ (rounded half away from zero); octaves whose short side would fall
    /// below <paramref name="minSide"/> are skipped (the image's own size is always kept).
    /// </summary>
    public static IReadOnlyList<(int Width, int Height)> OctaveSizes(int width, int height, int octaves, float scale, int minSide = MinOctaveSide)
    {
        var list = new List<(int, int)> { (width, height) };
        for (int k = 1; k < octaves; k++)
        {
            double f = Math.Pow(scale, k);
            int w = (int)Math.Round(width / f, MidpointRounding.AwayFromZero), h = (int)Math.Round(height / f, MidpointRounding.AwayFromZero);
            if (Math.Min(w, h) < minSide) break;
            list.Add((w, h));
        }
        return list;
    }

    /// <summary>
    /// The normalised ascent step in place: x += step / mean|g| · g (no step when mean|g| is 0 or not finite), then x is
    /// clamped to 0–255. Returns mean|g|.
    /// </summary>
    public static float NormalisedStep(Span<float> x, ReadOnlySpan<float> g, float step)
    {
        float meanAbs = TensorPrimitives.SumOfMagnitudes(g) / g.Length;
        if (meanAbs > 0 && float.IsFinite(meanAbs)) TensorPrimitives.MultiplyAdd(g, step / meanAbs, x, x);
        TensorPrimitives.Max(x, 0f, x);
        TensorPrimitives.Min(x, 255f, x);
        return meanAbs;
    }

    /// <summary><see cref="NormalisedStep"/> as ONNX nodes: returns the stepped, clamped image.</summary>
    public static string AddNormalisedStep(GraphBuilder b, string x, string g, float step)
    {
        var meanAbs = b.ReduceMean(b.Node("Abs", new[] { g }), null, keepdims: false);
        var usable = b.Node("And", new[] { b.Greater(meanAbs, b.Scalar(0f)), b.Less(meanAbs, b.Scalar(float.PositiveInfinity)) });
        var factor = b.Where(usable, b.Div(b.Scalar(step), meanAbs), b.Scalar(0f));
        var next = b.Node("Clip", new[] { b.Add(b.Mul(g, factor), x), b.Scalar(0f), b.Scalar(255f) });
        if (b.Info(x) is { } info) b.SetInfo(next, info);
        return next;
    }
}
