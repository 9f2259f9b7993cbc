#nullable enable
using SkiaSharp;

namespace MLStyle.Imaging;

/// <summary>EXIF orientation: turning a tensor decoded in stored pixel order upright.</summary>
internal static class ExifOrientation
{
    /// <summary>
    /// Applies an EXIF orientation so that a tensor decoded in stored order becomes upright.
    /// Orientations 5..8 swap width and height.
    /// </summary>
    /// <param name="src">The image in stored (encoded) pixel order.</param>
    /// <param name="origin">The EXIF orientation.</param>
    /// <returns><paramref name="src"/> itself for <see cref="SKEncodedOrigin.TopLeft"/>, otherwise a new image.</returns>
    public static ImageTensor Apply(ImageTensor src, SKEncodedOrigin origin)
    {
        ArgumentNullException.ThrowIfNull(src);
        if (origin == SKEncodedOrigin.TopLeft || !Enum.IsDefined(origin)) return src;
        int sw = src.Width, sh = src.Height;
        bool swap = SwapsAxes(origin);
        int dw = swap ? sh : sw, dh = swap ? sw : sh;
        var dst = new ImageTensor(dw, dh);
        int n = sw * sh;
        for (int c = 0; c < 3; c++)
        {
            ReadOnlySpan<float> s = src.Data.AsSpan(c * n, n);
            Span<float> d = dst.Data.AsSpan(c * n, n);
            for (int y = 0; y < dh; y++)
            {
                var drow = d.Slice(y * dw, dw);
                switch (origin)
                {
                    case SKEncodedOrigin.TopRight: // mirror horizontally
                        for (int x = 0; x < dw; x++) drow[x] = s[y * sw + (sw - 1 - x)];
                        break;
                    case SKEncodedOrigin.BottomRight: // rotate 180
                        for (int x = 0; x < dw; x++) drow[x] = s[(sh - 1 - y) * sw + (sw - 1 - x)];
                        break;
                    case SKEncodedOrigin.BottomLeft: // mirror vertically
                        s.Slice((sh - 1 - y) * sw, sw).CopyTo(drow);
                        break;
                    case SKEncodedOrigin.LeftTop: // transpose
                        for (int x = 0; x < dw; x++) drow[x] = s[x * sw + y];
                        break;
                    case SKEncodedOrigin.RightTop: // rotate 90 clockwise
                        for (int x = 0; x < dw; x++) drow[x] = s[(sh - 1 - x) * sw + y];
                        break;
                    case SKEncodedOrigin.RightBottom: // transverse
                        for (int x = 0; x < dw; x++) drow[x] = s[(sh - 1 - x) * sw + (sw - 1 - y)];
                        break;
                    case SKEncodedOrigin.LeftBottom: // rotate 90 counter-clockwise
                        for (int x = 0; x < dw; x++) drow[x] = s[x * sw + (sw - 1 - y)];
                        break;
                }
            }
        }
        return dst;
    }

    /// <summary>True for EXIF orientations 5..8, which swap width and height.</summary>
    public static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
}
