#nullable enable
namespace MLStyle.Optimization;

/// <summary>
/// A parametrisation of an image for optimisation: x = origin + B·z, with B a separable binomial blur of 3, 5, 7 or 9 taps
/// (zero padding, so B is symmetric and positive semi-definite). The optimiser works on z, starting from 0, and the gradient
/// with respect to z is B applied to the gradient with respect to x. Every change the optimiser makes to the image is then
/// blurred: every width removes period 2 from it, and period 4 is damped to 1/2, 1/4, 1/8, 1/16 with 3, 5, 7, 9 taps — the periods at which the strided
/// layers of a CNN make its raw pixel gradient alternate, and which an optimiser like L-BFGS otherwise paints as a grid.
/// </summary>
internal sealed class BlurredUpdates
{
    readonly float[] _origin;
    readonly float[] _tmp;
    readonly float[] _kernel;
    readonly int _planes, _width, _height;

    /// <summary>Creates the parametrisation around <paramref name="origin"/> (planes × height × width values, copied).</summary>
    public BlurredUpdates(ReadOnlySpan<float> origin, int planes, int width, int height, int taps)
    {
        if ((long)planes * width * height != origin.Length) throw new ArgumentException("origin does not match planes × height × width");
        _kernel = Imaging.BinomialKernel.Of(taps);
        _origin = origin.ToArray();
        _tmp = new float[origin.Length];
        (_planes, _width, _height) = (planes, width, height);
    }

    /// <summary>Taps of the blur (3, 5, 7 or 9).</summary>
    public int Taps => _kernel.Length;

    /// <summary>x = origin + B·z.</summary>
    public void ToImage(ReadOnlySpan<float> z, Span<float> x)
    {
        Blur(z, x);
        for (int i = 0; i < x.Length; i++) x[i] += _origin[i];
    }

    /// <summary>The gradient with respect to z: B·(gradient with respect to x) (B is symmetric).</summary>
    public void ToVariable(ReadOnlySpan<float> imageGradient, Span<float> variableGradient) => Blur(imageGradient, variableGradient);

    /// <summary>dst = B·src: the binomial blur along rows, then along columns, with zeros outside the image.</summary>
    void Blur(ReadOnlySpan<float> src, Span<float> dst)
    {
        int r = _kernel.Length / 2, w = _width, h = _height;
        for (int p = 0; p < _planes; p++)
        {
            var s = src.Slice(p * w * h, w * h);
            var t = _tmp.AsSpan(p * w * h, w * h);
            var d = dst.Slice(p * w * h, w * h);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    float acc = 0;
                    for (int k = -r; k <= r; k++)
                    {
                        int xx = x + k;
                        if ((uint)xx < (uint)w) acc += _kernel[k + r] * s[y * w + xx];
                    }
                    t[y * w + x] = acc;
                }
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    float acc = 0;
                    for (int k = -r; k <= r; k++)
                    {
                        int yy = y + k;
                        if ((uint)yy < (uint)h) acc += _kernel[k + r] * t[yy * w + x];
                    }
                    d[y * w + x] = acc;
                }
        }
    }
}
