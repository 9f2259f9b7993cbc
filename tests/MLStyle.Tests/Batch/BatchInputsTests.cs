#nullable enable
using MLStyle.Batch;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Batch;

public sealed class BatchInputsTests : IDisposable
{
    readonly TempDir _dir = new();
    string In => Path.Combine(_dir.Path, "in");

    public void Dispose() => _dir.Dispose();

    void Touch(params string[] names)
    {
        foreach (var n in names) Corpus.Write(In, n, [1]);
    }

    [Fact]
    public void FindsImagesRecursivelyAndMirrorsTheTree()
    {
        Touch("a.jpg", "sub/b.PNG", "sub/deeper/c.webp", "notes.txt", "sub/.d.png.tmp-0123");
        var outDir = Path.Combine(_dir.Path, "out");
        var items = BatchInputs.Discover(In, outDir);
        Assert.Equal(["a.jpg", "sub/b.PNG", "sub/deeper/c.webp"], items.Select(i => i.RelativePath));
        Assert.Equal(Path.Combine(outDir, "sub", "deeper", "c.png"), items[2].OutputPath);
        Assert.Equal("sub/b.png", items[1].RelativeOutput(outDir));
        Assert.Equal(Path.Combine(outDir, "a.jpg"), BatchInputs.Discover(In, outDir, "jpg")[0].OutputPath);
    }

    [Fact]
    public void IncludeAndExcludeGlobs()
    {
        Touch("a.jpg", "keep/b.jpg", "keep/thumbs/c.jpg", "keep/d.png", "e.tif");
        var outDir = Path.Combine(_dir.Path, "out");
        Assert.Equal(["keep/b.jpg", "keep/thumbs/c.jpg"], BatchInputs.Discover(In, outDir, include: ["keep/**/*.jpg"]).Select(i => i.RelativePath));
        Assert.Equal(["a.jpg", "keep/b.jpg", "keep/d.png"], BatchInputs.Discover(In, outDir, exclude: ["**/thumbs/**"]).Select(i => i.RelativePath));
        // Explicitly included non-default formats are tried (and fail with a clear reason when processed).
        Assert.Contains("e.tif", BatchInputs.Discover(In, outDir, include: ["**/*"]).Select(i => i.RelativePath));
    }

    [Fact]
    public void OutputInsideInputIsNotSearchedAndCollisionsKeepTheirExtension()
    {
        Touch("a.jpg", "a.png", "styled/old.png");
        var items = BatchInputs.Discover(In, Path.Combine(In, "styled"));
        Assert.Equal(["a.jpg", "a.png"], items.Select(i => i.RelativePath));
        Assert.Equal(["a.jpg.png", "a.png.png"], items.Select(i => Path.GetFileName(i.OutputPath)));
    }

    [Fact]
    public void BadDirectoriesAreClearErrors()
    {
        Touch("a.jpg");
        Assert.Contains("does not exist", Assert.Throws<MLStyleException>(() => BatchInputs.Discover(Path.Combine(_dir.Path, "nope"), _dir.Path)).Message);
        Assert.Contains("must differ", Assert.Throws<MLStyleException>(() => BatchInputs.Discover(In, In + "/")).Message);
        Assert.Contains("is a file", Assert.Throws<MLStyleException>(() => BatchInputs.Discover(Path.Combine(In, "a.jpg"), _dir.Path)).Message);
        Assert.Contains("unknown output format", Assert.Throws<MLStyleException>(() => BatchInputs.Discover(In, Path.Combine(_dir.Path, "o"), "gif")).Message);
    }
}
