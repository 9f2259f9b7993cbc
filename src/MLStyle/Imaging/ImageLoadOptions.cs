#nullable enable
namespace MLStyle.Imaging;

/// <summary>Options for <see cref="ImageIO.Load(string, ImageLoadOptions?)"/>.</summary>
public sealed class ImageLoadOptions
{
    /// <summary>The default pixel limit: 50 megapixels.</summary>
    public const long DefaultMaxPixels = 50_000_000;

    /// <summary>
    /// Largest image (width x height, in pixels) that will be decoded; default 50,000,000 (50 MP).
    /// The size is read from the file header before any pixel memory is allocated, so a
    /// "decompression bomb" (a tiny file that claims a huge size) is refused cheaply.
    /// Zero or a negative value disables the limit.
    /// </summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>
    /// How the refusal of a too-large image names the limit for the user, e.g. the command-line option that raises it
    /// (default <c>MaxPixels</c>).
    /// </summary>
    public string MaxPixelsName { get; init; } = nameof(MaxPixels);
}
