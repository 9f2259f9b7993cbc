using MLStyle.Imaging;

namespace MLStyle.Tests.Support;

/// <summary>Small deterministic test images and paths to the repository's samples.</summary>
public static class TestImages
{
    /// <summary>The repository root (found from the test binary's location).</summary>
    public static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "MLStyle.sln"))) return d.FullName;
            throw new InvalidOperationException("repository root not found");
        }
    }

    /// <summary>A file of the repository, by its path relative to the root.</summary>
    public static string RepoFile(string relative) => Path.Combine(RepoRoot, relative);

    /// <summary>A committed sample image.</summary>
    public static string Sample(string relative) => RepoFile(Path.Combine("samples", relative));

    /// <summary>A smooth gradient image with a few shapes, so features are non-trivial.</summary>
    public static ImageTensor Synthetic(int width, int height, int seed)
    {
        var rng = new Random(seed);
        var img = new ImageTensor(width, height);
        double fx = rng.NextDouble() * 0.3 + 0.05, fy = rng.NextDouble() * 0.3 + 0.05;
        for (int c = 0; c < 3; c++)
        {
            var ch = img.Channel(c);
            double phase = rng.NextDouble() * 6;
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    ch[y * width + x] = (float)(127.5 + 100 * Math.Sin(fx * x * (c + 1) + phase) * Math.Cos(fy * y + c));
        }
        return img;
    }

    /// <summary>A temporary directory deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public TempDir() { Path = Directory.CreateTempSubdirectory("mlstyle-test-").FullName; }
        public string Path { get; }
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, true); } catch { } }
    }
}
