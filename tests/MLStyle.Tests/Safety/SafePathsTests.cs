#nullable enable
using MLStyle.Files;
using MLStyle.Imaging;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Safety;

/// <summary>The one canonical-path helper: aliases (symbolic links, <c>..</c>, hard links) and non-regular files.</summary>
public sealed class SafePathsTests : IDisposable
{
    readonly TestImages.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string P(string rel) => Path.Combine(_dir.Path, rel);

    [Fact]
    public void EveryAliasOfAFileIsTheSameFile()
    {
        Directory.CreateDirectory(P("in/sub"));
        File.WriteAllText(P("in/a.png"), "a");
        File.CreateSymbolicLink(P("link"), P("in"));
        File.CreateSymbolicLink(P("in/sub/up"), "..");
        FileTree.HardLink(P("in/a.png"), P("hard.png"));

        Assert.True(SafePaths.SameFile(P("in/a.png"), P("link/a.png")));
        Assert.True(SafePaths.SameFile(P("in/a.png"), P("in/../in/a.png")));
        Assert.True(SafePaths.SameFile(P("in/a.png"), P("in/sub/up/a.png")));
        Assert.True(SafePaths.SameFile(P("in/a.png"), P("hard.png")));
        Assert.False(SafePaths.SameFile(P("in/a.png"), P("in/b.png")));
        // As the kernel does: a link's '..' is its target's parent, not the link's.
        Assert.Equal(SafePaths.Canonical(_dir.Path), SafePaths.Canonical(P("in/sub/up/..")));
        Assert.Equal(SafePaths.Canonical(P("in")) + "/new/x.png", SafePaths.Canonical(P("link/new/../new/x.png")));
        Assert.True(SafePaths.IsSameOrInside(P("link/out/"), P("in")));
        Assert.True(SafePaths.IsSameOrInside(P("in"), P("link")));
        Assert.False(SafePaths.IsSameOrInside(P("in2"), P("in")));
    }

    [Fact]
    public void AnOutputIsNeverAnInputNorANonRegularFile()
    {
        File.WriteAllText(P("a.png"), "photo");
        FileTree.HardLink(P("a.png"), P("hard.png"));
        File.CreateSymbolicLink(P("sym.png"), P("elsewhere.png"));
        FileTree.Fifo(P("fifo.png"));
        Directory.CreateDirectory(P("dir.png"));
        using var socket = FileTree.UnixSocket(P("sock.png"));
        var before = FileTree.Snapshot(_dir.Path);

        foreach (var alias in new[] { "a.png", "./x/../a.png", "hard.png" })
            Assert.Contains("it is the input", Assert.Throws<MLStyleException>(() => SafePaths.CheckWritable(P(alias), [P("a.png")])).Message);
        Assert.Contains("symbolic link", Assert.Throws<MLStyleException>(() => SafePaths.CheckWritable(P("sym.png"), [])).Message);
        Assert.Contains("directory", Assert.Throws<MLStyleException>(() => SafePaths.CheckWritable(P("dir.png"), [])).Message);
        foreach (var special in new[] { "fifo.png", "sock.png", "/dev/null" })
            Assert.Contains("not a regular file", Assert.Throws<MLStyleException>(() => SafePaths.CheckWritable(special.StartsWith('/') ? special : P(special), [])).Message);
        SafePaths.CheckWritable(P("new.png"), [P("a.png")]);

        // Atomic writes refuse them too (a rename would replace the device, FIFO or link by a regular file).
        var image = TestImages.Synthetic(8, 8, 1);
        foreach (var target in new[] { "fifo.png", "sym.png", "sock.png" })
            Assert.Throws<MLStyleException>(() => ImageIO.Save(image, P(target)));
        Assert.Throws<MLStyleException>(() => AtomicFile.WriteAllBytes("/dev/null", [1, 2, 3]));
        Assert.Equal(FileKind.Special, SafePaths.KindOf("/dev/null"));
        FileTree.AssertUnchanged(before, _dir.Path);
        Assert.Empty(Directory.EnumerateFiles(_dir.Path, ".*tmp-*"));
    }

    [Fact]
    public void ReadersNeverOpenAFifoOrADevice()
    {
        FileTree.Fifo(P("fifo.png"));
        File.CreateSymbolicLink(P("zero.png"), "/dev/zero");
        var load = Task.Run(() =>
        {
            foreach (var p in new[] { P("fifo.png"), P("zero.png") })
            {
                Assert.Contains("not a regular file", Assert.Throws<ImageLoadException>(() => ImageIO.Load(p)).Message);
                Assert.Contains("not a regular file", Assert.Throws<ModelException>(() => MLStyle.Onnx.OnnxModels.Load(p)).Message);
                Assert.ThrowsAny<MLStyleException>(() => MLStyle.Batch.ContentHash.OfFile(p));
            }
        });
        Assert.True(load.Wait(TimeSpan.FromSeconds(30)), "a reader blocked on a FIFO or device");
        load.GetAwaiter().GetResult();
    }
}
