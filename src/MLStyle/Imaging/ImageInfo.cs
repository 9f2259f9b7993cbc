#nullable enable
using SkiaSharp;

namespace MLStyle.Imaging;

/// <summary>Facts about an image file read from its header only (no pixel data is decoded).</summary>
/// <param name="Width">Width in pixels as displayed, i.e. after applying <paramref name="Orientation"/>.</param>
/// <param name="Height">Height in pixels as displayed, i.e. after applying <paramref name="Orientation"/>.</param>
/// <param name="Format">The encoded file format.</param>
/// <param name="Orientation">The EXIF orientation stored in the file (<see cref="SKEncodedOrigin.TopLeft"/> when none).</param>
public sealed record ImageInfo(int Width, int Height, SKEncodedImageFormat Format, SKEncodedOrigin Orientation)
{
    /// <summary>Number of pixels (<c>Width * Height</c>).</summary>
    public long PixelCount => (long)Width * Height;

    /// <summary>True when the orientation swaps width and height (EXIF orientations 5..8).</summary>
    public bool IsTransposed => ExifOrientation.SwapsAxes(Orientation);

    /// <summary>Short upper-case format name, e.g. "PNG", "JPEG", "WEBP".</summary>
    public string FormatName => Format.ToString().ToUpperInvariant();
}
