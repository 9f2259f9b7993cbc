using MLStyle.Imaging;

namespace MLStyle.Engines;

/// <summary>
/// The content photos a styliser learns from, held in memory at a reduced size, and the random crops (with rescaling and
/// horizontal flips) drawn from them for each mini-batch.
/// </summary>
public sealed class TrainingPhotos
{
    /// <summary>The smallest number of readable photos training accepts.</summary>
    public const int MinimumCount = 3;

    readonly List<ImageTensor> _photos;

    /// <summary>Files that could not be read, with the reason (they are skipped).</summary>
    public IReadOnlyList<(string Path, string Reason)> Skipped { get; }

    /// <summary>Number of photos.</summary>
    public int Count => _photos.Count;

    TrainingPhotos(List<ImageTensor> photos, IReadOnlyList<(string, string)> skipped)
    {
        _photos = photos;
        Skipped = skipped;
    }

    /// <summary>
    /// Photos from images already in memory, each reduced so its short side is at most twice <paramref name="cropSize"/> (and
    /// enlarged to at least <paramref name="cropSize"/>).
    /// </summary>
    public static TrainingPhotos FromImages(IEnumerable<ImageTensor> images, int cropSize)
    {
        var list = images.Select(i => Reduce(i, cropSize)).ToList();
        if (list.Count < MinimumCount)
            throw new MLStyleException($"training needs at least {MinimumCount} content photos, got {list.Count}");
        return new TrainingPhotos(list, Array.Empty<(string, string)>());
    }

    /// <summary>
    /// Loads every image file in <paramref name="directories"/> (recursively, except the files in <paramref name="exclude"/>):
    /// unreadable files are skipped and counted; fewer than <see cref="MinimumCount"/> readable photos is an <see cref="MLStyleException"/>.
    /// </summary>
    public static TrainingPhotos Load(IReadOnlyList<string> directories, int cropSize, IReadOnlyCollection<string>? exclude = null, long maxPixels = 50_000_000)
    {
        var excluded = new HashSet<string>((exclude ?? Array.Empty<string>()).Select(Path.GetFullPath));
        var files = new List<string>();
        foreach (var d in directories)
        {
            if (!Directory.Exists(d)) throw new MLStyleException($"content folder '{d}' does not exist");
            files.AddRange(Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)
                .Where(f => ImageFormats.Contains(Path.GetExtension(f).ToLowerInvariant()) && !excluded.Contains(Path.GetFullPath(f)))
                .OrderBy(f => f, StringComparer.Ordinal));
        }
        var photos = new List<ImageTensor>();
        var skipped = new List<(string, string)>();
        foreach (var f in files)
        {
            try { photos.Add(Reduce(ImageIO.Load(f, new ImageLoadOptions { MaxPixels = maxPixels }), cropSize)); }
            catch (ImageLoadException e) { skipped.Add((f, e.Message)); }
        }
        if (photos.Count < MinimumCount)
            throw new MLStyleException($"found {photos.Count} readable photo{(photos.Count == 1 ? "" : "s")} in {string.Join(", ", directories.Select(d => $"'{d}'"))}" +
                $"{(skipped.Count > 0 ? $" ({skipped.Count} unreadable)" : "")}; training needs at least {MinimumCount}");
        return new TrainingPhotos(photos, skipped);
    }

    static readonly HashSet<string> ImageFormats = new() { ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif" };

    static ImageTensor Reduce(ImageTensor img, int cropSize)
    {
        int shortSide = Math.Min(img.Width, img.Height);
        double f = shortSide > 2 * cropSize ? 2.0 * cropSize / shortSide : shortSide < cropSize ? (double)cropSize / shortSide : 1;
        if (f == 1) return img;
        return ImageIO.Resize(img, Math.Max(cropSize, (int)Math.Round(img.Width * f)), Math.Max(cropSize, (int)Math.Round(img.Height * f)));
    }

    /// <summary>
    /// Writes a random crop of a random photo into <paramref name="dst"/> (planar RGB, <paramref name="size"/>²): a square
    /// whose side is uniform between <paramref name="size"/> and the photo's short side, resized to <paramref name="size"/>,
    /// mirrored with probability ½.
    /// </summary>
    public void SampleCrop(Random rng, int size, Span<float> dst)
    {
        var p = _photos[rng.Next(_photos.Count)];
        int shortSide = Math.Min(p.Width, p.Height);
        int side = size + rng.Next(shortSide - size + 1);
        int x0 = rng.Next(p.Width - side + 1), y0 = rng.Next(p.Height - side + 1);
        bool flip = rng.Next(2) == 1;
        var crop = new ImageTensor(side, side);
        for (int c = 0; c < 3; c++)
        {
            var src = p.Channel(c); var d = crop.Channel(c);
            for (int y = 0; y < side; y++) src.Slice((y0 + y) * p.Width + x0, side).CopyTo(d.Slice(y * side, side));
        }
        var r = side == size ? crop : ImageIO.Resize(crop, size, size);
        for (int c = 0; c < 3; c++)
        {
            var src = r.Channel(c); var d = dst.Slice(c * size * size, size * size);
            if (!flip) { src.CopyTo(d); continue; }
            for (int y = 0; y < size; y++)
            {
                src.Slice(y * size, size).CopyTo(d.Slice(y * size, size));
                d.Slice(y * size, size).Reverse();
            }
        }
    }
}
