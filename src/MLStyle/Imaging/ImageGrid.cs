#nullable enable
namespace MLStyle.Imaging;

/// <summary>Tiles images into one picture (for galleries, README figures and reports).</summary>
internal static class ImageGrid
{
    /// <summary>
    /// Tiles <paramref name="images"/> row by row on a white background. Each image is resized so its longer side is
    /// <paramref name="cellLongSide"/> (keeping its aspect ratio) and centred in its cell; each column is as wide as its
    /// widest image and each row as tall as its tallest, with <paramref name="padding"/> pixels around and between cells.
    /// </summary>
    /// <param name="images">The images, in reading order (at least one).</param>
    /// <param name="columns">Number of columns (at least 1; capped at the number of images).</param>
    /// <param name="cellLongSide">Long side of each tile in pixels (at least 1).</param>
    /// <param name="padding">White margin in pixels around and between tiles (0 or more).</param>
    /// <returns>The composed image.</returns>
    public static ImageTensor Compose(IReadOnlyList<ImageTensor> images, int columns, int cellLongSide, int padding)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("At least one image is needed.", nameof(images));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "At least one column is needed.");
        if (cellLongSide < 1) throw new ArgumentOutOfRangeException(nameof(cellLongSide), cellLongSide, "The cell size must be at least 1 pixel.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "Padding cannot be negative.");

        int n = images.Count;
        int cols = Math.Min(columns, n);
        int rows = (n + cols - 1) / cols;
        var tiles = new ImageTensor[n];
        for (int i = 0; i < n; i++)
        {
            var img = images[i] ?? throw new ArgumentException($"Image {i} is null.", nameof(images));
            var (w, h) = ImageIO.SizeForLongSide(img.Width, img.Height, cellLongSide);
            tiles[i] = img.Width == w && img.Height == h ? img : ImageIO.Resize(img, w, h);
        }

        var colWidth = new int[cols];
        var rowHeight = new int[rows];
        for (int i = 0; i < n; i++)
        {
            colWidth[i % cols] = Math.Max(colWidth[i % cols], tiles[i].Width);
            rowHeight[i / cols] = Math.Max(rowHeight[i / cols], tiles[i].Height);
        }
        long totalW = padding + colWidth.Sum(w => (long)w + padding);
        long totalH = padding + rowHeight.Sum(h => (long)h + padding);
        if (totalW > int.MaxValue || totalH > int.MaxValue || 3 * totalW * totalH > Array.MaxLength)
            throw new ArgumentException($"The grid would be {totalW}x{totalH} pixels, too large.");

        var result = ImageTensor.Filled((int)totalW, (int)totalH, 255f, 255f, 255f);
        int y0 = padding;
        for (int r = 0; r < rows; r++)
        {
            int x0 = padding;
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                if (i >= n) break;
                var tile = tiles[i];
                int ox = x0 + (colWidth[c] - tile.Width) / 2;
                int oy = y0 + (rowHeight[r] - tile.Height) / 2;
                Blit(tile, result, ox, oy);
                x0 += colWidth[c] + padding;
            }
            y0 += rowHeight[r] + padding;
        }
        return result;
    }

    private static void Blit(ImageTensor src, ImageTensor dst, int ox, int oy)
    {
        for (int c = 0; c < 3; c++)
        {
            ReadOnlySpan<float> s = src.Channel(c);
            Span<float> d = dst.Channel(c);
            for (int y = 0; y < src.Height; y++)
                s.Slice(y * src.Width, src.Width).CopyTo(d.Slice((oy + y) * dst.Width + ox, src.Width));
        }
    }
}
