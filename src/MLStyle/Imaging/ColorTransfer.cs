#nullable enable
using MLStyle.Onnx;

namespace MLStyle.Imaging;

/// <summary>
/// Colour preservation for style transfer, after Gatys, Bethge, Hertzmann and Shechtman (2016),
/// "Preserving Color in Neural Artistic Style Transfer". Both variants work in the YIQ colour space
/// (NTSC): Y is luminance, I and Q carry the chroma. The one owner of the transform: on images (<see cref="PreserveColors"/>)
/// and as ONNX nodes (<see cref="AddPreserveColors"/>) from the same matrices.
/// </summary>
public static class ColorTransfer
{
    // FCC NTSC RGB -> YIQ.
    private static readonly float[] Forward =
    [
        0.299f, 0.587f, 0.114f,
        0.595716f, -0.274453f, -0.321263f,
        0.211456f, -0.522591f, 0.311135f,
    ];

    // The exact inverse, computed once so RGB -> YIQ -> RGB round-trips to float precision.
    private static readonly float[] Inverse = Invert3x3(Forward);

    /// <summary>Luminance (the Y of YIQ: 0.299 R + 0.587 G + 0.114 B) of every pixel, row-major, 0..255.</summary>
    /// <param name="image">The RGB image.</param>
    public static float[] RgbToLuminance(ImageTensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var y = new float[image.PixelCount];
        ReadOnlySpan<float> r = image.Channel(0), g = image.Channel(1), b = image.Channel(2);
        for (int p = 0; p < y.Length; p++)
            y[p] = Forward[0] * r[p] + Forward[1] * g[p] + Forward[2] * b[p];
        return y;
    }

    /// <summary>Converts an RGB image to YIQ planes (Y in 0..255; I about ±152; Q about ±134).</summary>
    /// <param name="image">The RGB image.</param>
    public static (float[] Y, float[] I, float[] Q) RgbToYiq(ImageTensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int n = image.PixelCount;
        float[] y = new float[n], i = new float[n], q = new float[n];
        ReadOnlySpan<float> r = image.Channel(0), g = image.Channel(1), b = image.Channel(2);
        var m = Forward;
        for (int p = 0; p < n; p++)
        {
            float rr = r[p], gg = g[p], bb = b[p];
            y[p] = m[0] * rr + m[1] * gg + m[2] * bb;
            i[p] = m[3] * rr + m[4] * gg + m[5] * bb;
            q[p] = m[6] * rr + m[7] * gg + m[8] * bb;
        }
        return (y, i, q);
    }

    /// <summary>Converts YIQ planes back to an RGB image, clamped to 0..255.</summary>
    /// <param name="y">Luminance plane (length <c>width * height</c>).</param>
    /// <param name="i">I chroma plane.</param>
    /// <param name="q">Q chroma plane.</param>
    /// <param name="width">Image width.</param>
    /// <param name="height">Image height.</param>
    public static ImageTensor YiqToRgb(ReadOnlySpan<float> y, ReadOnlySpan<float> i, ReadOnlySpan<float> q, int width, int height)
    {
        var result = new ImageTensor(width, height);
        int n = result.PixelCount;
        if (y.Length != n || i.Length != n || q.Length != n)
            throw new ArgumentException($"Each YIQ plane must have {width}x{height} = {n} values.");
        WriteRgb(result, y, i, q);
        return result;
    }

    /// <summary>
    /// Colour-preserving combination: the luminance of <paramref name="stylised"/> with the chroma (I, Q) of
    /// <paramref name="content"/>. If the sizes differ, the content is resized to the stylised image's size first.
    /// </summary>
    /// <param name="stylised">The style-transfer result (provides structure and brush strokes).</param>
    /// <param name="content">The original content image (provides the colours).</param>
    /// <returns>A new image, clamped to 0..255.</returns>
    public static ImageTensor PreserveColors(ImageTensor stylised, ImageTensor content)
    {
        ArgumentNullException.ThrowIfNull(stylised);
        ArgumentNullException.ThrowIfNull(content);
        if (content.Width != stylised.Width || content.Height != stylised.Height)
            content = ImageIO.Resize(content, stylised.Width, stylised.Height);
        var y = RgbToLuminance(stylised);
        var (_, i, q) = RgbToYiq(content);
        var result = new ImageTensor(stylised.Width, stylised.Height);
        WriteRgb(result, y, i, q);
        return result;
    }

    /// <summary>
    /// <see cref="PreserveColors"/> as ONNX nodes: the luminance of <paramref name="stylised"/> with the chroma of
    /// <paramref name="original"/>, both <c>[N, 3, H, W]</c> RGB 0–255 of the same size, clipped to 0–255. Written as two 1×1
    /// convolutions, out = M⁻¹·diag(1,0,0)·M·stylised + M⁻¹·diag(0,1,1)·M·original, with M the YIQ matrix.
    /// </summary>
    public static string AddPreserveColors(GraphBuilder b, string stylised, string original)
    {
        float[] Kernel(bool luminance)
        {
            var k = new float[9];
            for (int o = 0; o < 3; o++)
                for (int i = 0; i < 3; i++)
                {
                    double s = 0;
                    for (int c = 0; c < 3; c++)
                        if ((c == 0) == luminance) s += (double)Inverse[o * 3 + c] * Forward[c * 3 + i];
                    k[o * 3 + i] = (float)s;
                }
            return k;
        }
        var ky = b.Constant(Kernel(true), new long[] { 3, 3, 1, 1 }, "luminance_kernel");
        var kc = b.Constant(Kernel(false), new long[] { 3, 3, 1, 1 }, "chroma_kernel");
        var y = b.Node("Conv", new[] { stylised, ky }, "luminance", ("kernel_shape", new long[] { 1, 1 }));
        var c2 = b.Node("Conv", new[] { original, kc }, "chroma", ("kernel_shape", new long[] { 1, 1 }));
        var result = b.Node("Clip", new[] { b.Add(y, c2), b.Scalar(0f), b.Scalar(255f) });
        if (b.Info(stylised) is { } info) b.SetInfo(result, info);
        return result;
    }

    /// <summary>
    /// Luminance-only transfer preparation (Gatys et al. 2016, section 3): replaces <paramref name="styleImage"/>
    /// in place by its luminance, linearly matched so its mean and standard deviation equal those of the content's
    /// luminance (<c>L' = (L_s - mu_s) * sigma_c / sigma_s + mu_c</c>), stored as a gray image (three equal channels,
    /// clamped to 0..255). Run style transfer on the luminance images, then use
    /// <see cref="PreserveColors"/> to put the content's colours back.
    /// </summary>
    /// <param name="styleImage">The style image; modified in place.</param>
    /// <param name="content">The content image (read only).</param>
    public static void MatchLuminance(ImageTensor styleImage, ImageTensor content)
    {
        ArgumentNullException.ThrowIfNull(styleImage);
        ArgumentNullException.ThrowIfNull(content);
        var ls = RgbToLuminance(styleImage);
        var (muS, sigmaS) = MeanStd(ls);
        var (muC, sigmaC) = MeanStd(RgbToLuminance(content));
        float gain = sigmaS > 1e-6 ? (float)(sigmaC / sigmaS) : 1f;
        float ms = (float)muS, mc = (float)muC;
        Span<float> r = styleImage.Channel(0), g = styleImage.Channel(1), b = styleImage.Channel(2);
        for (int p = 0; p < ls.Length; p++)
        {
            float v = Math.Clamp((ls[p] - ms) * gain + mc, 0f, 255f);
            r[p] = v;
            g[p] = v;
            b[p] = v;
        }
    }

    /// <summary>Mean and (population) standard deviation of <paramref name="values"/>, accumulated in double.</summary>
    /// <param name="values">The samples.</param>
    public static (double Mean, double Std) MeanStd(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) return (0, 0);
        double sum = 0, sumSq = 0;
        foreach (float v in values)
        {
            sum += v;
            sumSq += (double)v * v;
        }
        double mean = sum / values.Length;
        double variance = Math.Max(0, sumSq / values.Length - mean * mean);
        return (mean, Math.Sqrt(variance));
    }

    private static void WriteRgb(ImageTensor dst, ReadOnlySpan<float> y, ReadOnlySpan<float> i, ReadOnlySpan<float> q)
    {
        Span<float> r = dst.Channel(0), g = dst.Channel(1), b = dst.Channel(2);
        var m = Inverse;
        for (int p = 0; p < r.Length; p++)
        {
            float yy = y[p], ii = i[p], qq = q[p];
            r[p] = Math.Clamp(m[0] * yy + m[1] * ii + m[2] * qq, 0f, 255f);
            g[p] = Math.Clamp(m[3] * yy + m[4] * ii + m[5] * qq, 0f, 255f);
            b[p] = Math.Clamp(m[6] * yy + m[7] * ii + m[8] * qq, 0f, 255f);
        }
    }

    private static float[] Invert3x3(float[] m)
    {
        double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7], k = m[8];
        double det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
        return
        [
            (float)((e * k - f * h) / det), (float)((c * h - b * k) / det), (float)((b * f - c * e) / det),
            (float)((f * g - d * k) / det), (float)((a * k - c * g) / det), (float)((c * d - a * f) / det),
            (float)((d * h - e * g) / det), (float)((b * g - a * h) / det), (float)((a * e - b * d) / det),
        ];
    }
}
