#nullable enable
using MLStyle.Tests.Batch;
using MLStyle.Tests.Cli;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Safety;

/// <summary>
/// The commands never write over a file of the run, however the path is spelled, nor over a non-regular file; each refusal
/// is one error line with exit code 2, and every user file keeps its bytes.
/// </summary>
public sealed class CliPathSafetyTests : IDisposable
{
    readonly TestImages.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string P(string rel) => Path.Combine(_dir.Path, rel);

    void Refused(string fragment, params string[] args)
    {
        var before = FileTree.Snapshot(_dir.Path);
        var r = CliRunner.Run(args);
        r.AssertOneError(2, fragment);
        FileTree.AssertUnchanged(before, _dir.Path);
        Assert.Empty(Directory.EnumerateFiles(_dir.Path, ".*.tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public void StylizeNeverWritesOverItsInputsOrOverOddFiles()
    {
        Corpus.Write(_dir.Path, "a.png", Corpus.Photo(16, 16, 1));
        Corpus.Write(_dir.Path, "s.png", Corpus.Photo(16, 16, 2));
        Corpus.Write(_dir.Path, "init.png", Corpus.Photo(16, 16, 3));
        Directory.CreateDirectory(P("x"));
        File.CreateSymbolicLink(P("link"), _dir.Path);
        FileTree.HardLink(P("a.png"), P("hard.png"));
        FileTree.Fifo(P("fifo.png"));
        File.CreateSymbolicLink(P("sym.png"), P("elsewhere.png"));
        string[] Run(string output, params string[] extra) =>
            ["stylize", "--content", P("a.png"), "--style", P("s.png"), "--output", output, "--size", "16", "--iterations", "1", .. extra];

        Refused("is the input", Run(P("a.png")));
        Refused("is the input", Run(P("x/../a.png")));
        Refused("is the input", Run(P("link/a.png")));
        Refused("is the input", Run(P("hard.png")));
        Refused("is the input", Run(P("s.png")));
        Refused("is the input", Run(P("out.png"), "--init", P("init.png"), "--plot", P("init.png")));
        Refused("are the same file", Run(P("out.png"), "--plot", P("link/out.png")));
        Refused("not a regular file", Run(P("fifo.png")));
        Refused("symbolic link", Run(P("sym.png")));
        Refused("threads", Run(P("out.png"), "--threads", "100000"));
        Refused("threads", Run(P("out.png"), "--threads", "2147483647"));
    }

    [Fact]
    public void GradNeverWritesOverTheModelOrADevice()
    {
        var model = SafetyModels.Save(SafetyModels.Cnn(), P("m.onnx"));
        FileTree.HardLink(model, P("m2.onnx"));
        FileTree.Fifo(P("fifo.onnx"));
        string[] Grad(string output) => ["grad", "--model", model, "--of", "Y", "--wrt", "X", "--output", output];

        Refused("is the input", Grad(model));
        Refused("is the input", Grad(P("./sub/../m.onnx")));
        Refused("is the input", Grad(P("m2.onnx")));
        Refused("not a regular file", Grad(P("fifo.onnx")));
        Refused("not a regular file", Grad("/dev/null"));
        Assert.Equal(MLStyle.Files.FileKind.Special, MLStyle.Files.SafePaths.KindOf("/dev/null"));
        var ok = CliRunner.Run(Grad(P("g.onnx")));
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.True(new FileInfo(P("g.onnx")).Length > 0);
    }

    [Fact]
    public void DreamNeverWritesOverItsInputOrGuideOrThroughItsFrames()
    {
        Corpus.Write(_dir.Path, "in.png", Corpus.Photo(32, 32, 1));
        Corpus.Write(_dir.Path, "frames/frame_0002.png", Corpus.Photo(32, 32, 2));
        string[] Dream(string output, params string[] extra) => ["dream", "--input", P("in.png"), "--output", output, "--iterations", "1", .. extra];

        Refused("is the input", Dream(P("./in.png")));
        Refused("is the input", Dream(P("out.png"), "--guide", P("frames/frame_0002.png"), "--frames", "2", "--frames-dir", P("frames")));
        Refused("invalid size", Dream(P("out.png"), "--size", "30000"));
    }
}
