#nullable enable
using MLStyle.Files;
using MLStyle.Imaging;
using SkiaSharp;

namespace MLStyle.Tests.Imaging;

public sealed class ImageIOSaveTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string[] Leftovers() => Directory.GetFiles(_dir.Path, "*.tmp-*", SearchOption.AllDirectories);

    [Fact]
    public void SaveLeavesNoTempFileAndReplacesExisting()
    {
        string path = _dir.File("out.png");
        File.WriteAllText(path, "old content");
        var img = TestFiles.RandomIntegers(8, 8, seed: 11);
        ImageIO.Save(img, path);
        Assert.Empty(Leftovers());
        Assert.Equal(img.Data, ImageIO.Load(path).Data);

        var second = TestFiles.RandomIntegers(5, 3, seed: 12);
        ImageIO.Save(second, path);
        Assert.Empty(Leftovers());
        Assert.Equal(second.Data, ImageIO.Load(path).Data);
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Theory]
    [InlineData("out.gif")]
    [InlineData("out.bmp")]
    [InlineData("out")]
    [InlineData("out.tiff")]
    public void UnsupportedExtensionIsRefusedWithoutLeftovers(string name)
    {
        var ex = Assert.Throws<MLStyleException>(() => ImageIO.Save(TestFiles.Gradient(4, 4), _dir.File(name)));
        Assert.Contains("unsupported output format", ex.Message);
        Assert.Contains(name, ex.Message);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void FailedWriteKeepsOldFileAndLeavesNoTemp()
    {
        string path = _dir.File("keep.png");
        File.WriteAllText(path, "old");
        var ex = Assert.Throws<MLStyleException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([1, 2, 3]);
            throw new IOException("disk full");
        }));
        Assert.Contains("keep.png", ex.Message);
        Assert.Contains("disk full", ex.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void MissingDirectoryIsReported()
    {
        string path = Path.Combine(_dir.Path, "no-such-dir", "out.png");
        var ex = Assert.Throws<MLStyleException>(() => ImageIO.Save(TestFiles.Gradient(4, 4), path));
        Assert.Contains("does not exist", ex.Message);
        Assert.Contains("out.png", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void SavingOntoADirectoryIsReported()
    {
        string path = _dir.File("folder.png");
        Directory.CreateDirectory(path);
        var ex = Assert.Throws<MLStyleException>(() => ImageIO.Save(TestFiles.Gradient(4, 4), path));
        Assert.Contains("directory", ex.Message);
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void ValuesAreClampedAndRounded()
    {
        var img = new ImageTensor([-20f, 0.49f, 0.5f, 254.6f, 300f, float.NaN], 2, 1);
        string path = _dir.File("clamp.png");
        ImageIO.Save(img, path);
        var back = ImageIO.Load(path);
        Assert.Equal([0f, 0f, 1f, 255f, 255f, 0f], back.Data);
    }

    [Theory]
    [InlineData("a.jpg", SKEncodedImageFormat.Jpeg)]
    [InlineData("a.JPEG", SKEncodedImageFormat.Jpeg)]
    [InlineData("a.webp", SKEncodedImageFormat.Webp)]
    [InlineData("a.PNG", SKEncodedImageFormat.Png)]
    public void FormatFollowsExtension(string name, SKEncodedImageFormat format)
    {
        string path = _dir.File(name);
        ImageIO.Save(TestFiles.Gradient(20, 10), path, jpegQuality: 90);
        var info = ImageIO.Probe(path);
        Assert.Equal(format, info.Format);
        Assert.Equal((20, 10), (info.Width, info.Height));
    }

    [Fact]
    public void BadQualityIsRefused()
    {
        var ex = Assert.Throws<MLStyleException>(() => ImageIO.Save(TestFiles.Gradient(4, 4), _dir.File("q.jpg"), 0));
        Assert.Contains("quality", ex.Message);
    }
}
