#nullable enable
namespace MLStyle.Imaging;

/// <summary>
/// Separable Catmull-Rom resampling of planar RGB tensors (antialiased when shrinking: the filter widens with the scale), as
/// <see cref="ImageIO.Resize"/> uses it. Large images are resampled in parallel.
/// </summary>
internal static class Resampler
{
    /// <summary>A new <paramref name="width"/>×<paramref name="height"/> tensor (unclamped); the sizes must differ from the source's.</summary>
    public static ImageTensor Resample(ImageTensor src, int width, int height)
    {
        // Horizontal pass: [3, H, W] -> [3, H, width]; vertical pass: -> [3, height, width].
        // (The caller handles equal sizes, so the result never aliases src.Data.)
        float[] tmp = width == src.Width ? src.Data : ResampleRows(src.Data, 3 * src.Height, src.Width, width);
        float[] dst = height == src.Height ? tmp : ResampleColumns(tmp, src.Height, height, width);
        return new ImageTensor(dst, width, height);
    }

    /// <summary>Catmull-Rom cubic (a = -0.5), support [-2, 2].</summary>
    static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        return 0;
    }

    /// <summary>Per output sample: first input index, tap count and normalised weights (stride <c>Taps</c>).</summary>
    readonly record struct Weights(int[] Start, int[] Count, float[] W, int Taps);

    static Weights ComputeWeights(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(1.0, scale);
        double support = 2.0 * filterScale;
        int taps = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outSize];
        var count = new int[outSize];
        var w = new float[outSize * taps];
        var tmp = new double[taps];
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            int lo = Math.Max(0, (int)Math.Floor(center - support + 0.5));
            int hi = Math.Min(inSize, (int)Math.Floor(center + support + 0.5));
            int n = Math.Min(hi - lo, taps);
            double sum = 0;
            for (int k = 0; k < n; k++)
            {
                double v = Cubic((lo + k + 0.5 - center) / filterScale);
                tmp[k] = v;
                sum += v;
            }
            if (n <= 0 || Math.Abs(sum) < 1e-12)
            {
                // Degenerate (cannot happen for sane sizes): fall back to nearest sample.
                lo = Math.Clamp((int)center, 0, inSize - 1);
                n = 1;
                tmp[0] = 1;
                sum = 1;
            }
            start[i] = lo;
            count[i] = n;
            for (int k = 0; k < n; k++) w[i * taps + k] = (float)(tmp[k] / sum);
        }
        return new Weights(start, count, w, taps);
    }

    /// <summary>Resamples each of <paramref name="rows"/> rows from <paramref name="inW"/> to <paramref name="outW"/> samples.</summary>
    static float[] ResampleRows(float[] src, int rows, int inW, int outW)
    {
        var wt = ComputeWeights(inW, outW);
        var dst = new float[(long)rows * outW];
        void Row(int r)
        {
            ReadOnlySpan<float> s = src.AsSpan(r * inW, inW);
            Span<float> d = dst.AsSpan(r * outW, outW);
            for (int x = 0; x < outW; x++)
            {
                int st = wt.Start[x], cnt = wt.Count[x], wo = x * wt.Taps;
                float acc = 0;
                for (int k = 0; k < cnt; k++) acc += s[st + k] * wt.W[wo + k];
                d[x] = acc;
            }
        }
        Run(rows, (long)rows * outW * wt.Taps, Row);
        return dst;
    }

    /// <summary>Resamples each of the 3 planes vertically from <paramref name="inH"/> to <paramref name="outH"/> rows of width <paramref name="w"/>.</summary>
    static float[] ResampleColumns(float[] src, int inH, int outH, int w)
    {
        var wt = ComputeWeights(inH, outH);
        var dst = new float[3L * outH * w];
        void Row(int job)
        {
            int c = job / outH, y = job % outH;
            Span<float> d = dst.AsSpan((c * outH + y) * w, w);
            d.Clear();
            int st = wt.Start[y], cnt = wt.Count[y], wo = y * wt.Taps;
            for (int k = 0; k < cnt; k++)
            {
                float weight = wt.W[wo + k];
                ReadOnlySpan<float> s = src.AsSpan((c * inH + st + k) * w, w);
                // d += weight * s (vectorised).
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(s, weight, d, d);
            }
        }
        Run(3 * outH, 3L * outH * w * wt.Taps, Row);
        return dst;
    }

    static void Run(int jobs, long work, Action<int> body)
    {
        if (work < 4_000_000 || Environment.ProcessorCount < 2)
        {
            for (int i = 0; i < jobs; i++) body(i);
        }
        else
        {
            Parallel.For(0, jobs, body);
        }
    }
}
