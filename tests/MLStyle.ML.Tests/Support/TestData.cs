using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.Imaging;

namespace MLStyle.ML.Tests.Support;

/// <summary>A row of 32×32 planar RGB pixels.</summary>
public sealed class PixelRow
{
    public string Name { get; set; } = "";

    [VectorType(3, 32, 32)]
    public float[] Pixels { get; set; } = new float[3 * 32 * 32];

    public string Text { get; set; } = "not an image";
}

public sealed class PathRow
{
    public string Path { get; set; } = "";
}

static class TestData
{
    /// <summary>The repository root (the folder holding MLStyle.sln).</summary>
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "MLStyle.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    public static string Sample(params string[] parts) => Path.Combine(new[] { Root, "samples" }.Concat(parts).ToArray());

    /// <summary>The committed content images at 32×32 (centre crop of the short side, then resize).</summary>
    public static PixelRow[] ContentRows(int size = 32) => new[] { "chelsea.png", "cincinnati-bridge.jpg" }
        .Select(f =>
        {
            var img = ImageIO.Load(Sample("content", f));
            int side = Math.Min(img.Width, img.Height);
            var crop = new ImageTensor(side, side);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++)
                        crop[c, y, x] = img[c, y + (img.Height - side) / 2, x + (img.Width - side) / 2];
            var small = ImageIO.Resize(crop, size, size);
            return new PixelRow { Name = f, Pixels = small.Data };
        }).ToArray();

    /// <summary>Saves <paramref name="model"/> and loads it into a fresh <see cref="MLContext"/>.</summary>
    public static ITransformer RoundTrip(MLContext ml, ITransformer model, DataViewSchema schema, out long bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlstyle-test-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, schema, path);
            bytes = new FileInfo(path).Length;
            return new MLContext(seed: 7).Model.Load(path, out _);
        }
        finally { File.Delete(path); }
    }

    public static ITransformer RoundTrip(MLContext ml, ITransformer model, DataViewSchema schema) => RoundTrip(ml, model, schema, out _);

    public static float[][] Column(IDataView data, string column) => data.GetColumn<float[]>(column).ToArray();

    /// <summary>The pixels of an image column (planar RGB, through ExtractPixels).</summary>
    public static float[][] ImagePixels(MLContext ml, IDataView data, string imageColumn)
    {
        var px = ml.Transforms.ExtractPixels("__px", imageColumn).Fit(data).Transform(data);
        return Column(px, "__px");
    }
}
