namespace MLStyle.ML;

/// <summary>What kind of column an image-producing component writes.</summary>
public enum ImageOutputKind
{
    /// <summary>
    /// An image column (<c>Image&lt;H, W&gt;</c>, an <see cref="Microsoft.ML.Data.MLImage"/> per row) made by ML.NET's
    /// <c>ConvertToImage</c> from the result's pixels; save it with <see cref="Microsoft.ML.Data.MLImage.Save"/> (the default).
    /// </summary>
    Image,

    /// <summary>
    /// The result's pixels as <c>Vector&lt;Single, 3, H, W&gt;</c> (planar RGB 0–255, the layout of <c>ExtractPixels</c>), for
    /// chaining into further components; <c>ConvertToImage(H, W, …)</c> turns it into an image column.
    /// </summary>
    Pixels,
}
