#nullable enable
using MLStyle.Cli;
using MLStyle.Onnx;
using MLStyle.Stylizers;
using MLStyle.Tests.Batch;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Cli;

/// <summary><c>mlstyle train</c>, <c>apply</c> and <c>batch apply</c> end to end at tiny sizes, and their bad-input paths.</summary>
public sealed class TrainApplyCliTests : IClassFixture<TrainApplyCliTests.Files>
{
    /// <summary>A folder of photos (and two unreadable files), a style, and a tiny untrained styliser.</summary>
    public sealed class Files : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string P(string name) => Path.Combine(Dir.Path, name);

        public Files()
        {
            for (int i = 0; i < 4; i++) Corpus.Write(Dir.Path, $"photos/p{i}.png", Corpus.Photo(48, 40, 10 + i));
            Corpus.Write(Dir.Path, "photos/broken.jpg", "not a jpeg"u8.ToArray());
            Corpus.Write(Dir.Path, "photos/sub/empty.png", Array.Empty<byte>());
            Corpus.Write(Dir.Path, "few/a.png", Corpus.Photo(48, 40, 1));
            Corpus.Write(Dir.Path, "few/b.png", Corpus.Photo(48, 40, 2));
            Corpus.Write(Dir.Path, "few/c.txt", "text"u8.ToArray());
            Corpus.Write(Dir.Path, "style.png", Corpus.Photo(40, 40, 3));
            Corpus.Write(Dir.Path, "photo.png", Corpus.Photo(45, 30, 4));
            OnnxModels.Save(FastStylizer.Create(new StylizerShape(4, 1), 1), P("tiny.onnx"));
        }

        public void Dispose() => Dir.Dispose();
    }

    readonly Files _f;
    public TrainApplyCliTests(Files f) => _f = f;

    string[] Train(string content, string output, params string[] extra) =>
        ["train", "--style", _f.P("style.png"), "--content", content, "--output", output, "--size", "32", "--batch", "2", "--width", "4",
         "--residual-blocks", "1", "--content-layers", "conv1", "--style-layers", "conv1", "--threads", "1", .. extra];

    [Fact]
    public void Train_skips_and_counts_unreadable_photos_writes_checkpoints_previews_and_a_plot_and_resumes()
    {
        var output = _f.P("t1.onnx");
        var r = CliRunner.Run(Train(_f.P("photos"), output, "--iterations", "4", "--checkpoint-every", "2", "--preview", _f.P("photo.png"),
            "--preview-size", "40", "--plot", _f.P("t1-loss.png")));
        Assert.True(r.ExitCode == ExitCodes.Ok, r.Stderr);
        r.AssertNoStackTrace();
        Assert.Contains("4 photos (2 skipped)", r.Stderr);
        Assert.Equal(2, r.ErrorLines.Count(l => l.StartsWith("warning: skipped")));
        Assert.Contains("4 iterations", r.Stdout);
        foreach (var f in new[] { "t1.onnx", "t1.onnx.ckpt", "t1.iter2.png", "t1.iter4.png", "t1-loss.png" }) Assert.True(File.Exists(_f.P(f)), f);

        // --resume continues from the checkpoint up to the new --iterations.
        var again = CliRunner.Run(Train(_f.P("photos"), output, "--iterations", "6", "--checkpoint-every", "2", "--resume"));
        Assert.True(again.ExitCode == ExitCodes.Ok, again.Stderr);
        Assert.Contains("resuming at iteration 4", again.Stderr);
        Assert.Contains("6 iterations", again.Stdout);

        // The trained file works with apply, at a size that is not a multiple of 4, with colours preserved.
        var a = CliRunner.Run("apply", "--model", output, "--input", _f.P("photo.png"), "--output", _f.P("applied.png"), "--preserve-colors");
        Assert.True(a.ExitCode == ExitCodes.Ok, a.Stderr);
        var img = MLStyle.Imaging.ImageIO.Load(_f.P("applied.png"));
        Assert.Equal((45, 30), (img.Width, img.Height));
    }

    [Fact]
    public void Bad_training_inputs_are_one_clear_error()
    {
        CliRunner.Run(Train(_f.P("missing-dir"), _f.P("x.onnx"), "--iterations", "1")).AssertOneError(ExitCodes.BadInput, "does not exist");
        CliRunner.Run(Train(_f.P("few"), _f.P("x.onnx"), "--iterations", "1")).AssertOneError(ExitCodes.BadInput, "found 2 readable photos");
        CliRunner.Run(Train(_f.P("photos"), _f.P("x.png"), "--iterations", "1")).AssertOneError(ExitCodes.BadInput, ".onnx");
        CliRunner.Run(Train(_f.P("photos"), _f.P("x.onnx"), "--size", "30")).AssertOneError(ExitCodes.BadInput, "crop size");
        CliRunner.Run(Train(_f.P("photos"), _f.P("x.onnx"), "--time-limit", "soon")).AssertOneError(ExitCodes.BadInput, "--time-limit");
        CliRunner.Run(Train(_f.P("photos"), _f.P("x.onnx"), "--resume")).AssertOneError(ExitCodes.BadInput, "no checkpoint");
        CliRunner.Run(Train(_f.P("photos"), _f.P("x.onnx"), "--width", "1")).AssertOneError(ExitCodes.BadInput, "width");
        CliRunner.Run(Train(_f.P("photos"), _f.P("x.onnx"), "--learning-rate", "-1")).AssertOneError(ExitCodes.BadInput, "learning rate");
        CliRunner.Run(Train(_f.P("photos"), _f.P("x.onnx"), "--chroma-tv-weight", "-1")).AssertOneError(ExitCodes.BadInput, "chroma tv weight");
        Assert.False(File.Exists(_f.P("x.onnx")));
    }

    [Fact]
    public void A_diverging_run_exits_4_and_keeps_finite_weights()
    {
        var output = _f.P("nan.onnx");
        var r = CliRunner.Run(Train(_f.P("photos"), output, "--iterations", "20", "--learning-rate", "1e30", "--checkpoint-every", "1"));
        Assert.Equal(ExitCodes.Diverged, r.ExitCode);
        Assert.Contains("error: training diverged", r.Stderr);
        r.AssertNoStackTrace();
        var weights = FastStylizer.Parameters(OnnxModels.Load(output)).SelectMany(TensorProtos.ToFloats);
        Assert.All(weights, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Apply_refuses_bad_models_and_never_overwrites_its_input()
    {
        Corpus.Write(_f.Dir.Path, "not-a-model.onnx", "text"u8.ToArray());
        CliRunner.Run("apply", "--model", _f.P("not-a-model.onnx"), "--input", _f.P("photo.png"), "--output", _f.P("o.png")).AssertOneError(ExitCodes.BadInput, "not-a-model.onnx");
        CliRunner.Run("apply", "--model", _f.P("tiny.onnx"), "--input", _f.P("photo.png"), "--output", _f.P("photo.png")).AssertOneError(ExitCodes.BadInput, "is the input");
        CliRunner.Run("apply", "--model", _f.P("tiny.onnx"), "--input", _f.P("photos/broken.jpg"), "--output", _f.P("o.png")).AssertOneError(ExitCodes.BadInput, "broken.jpg");
        CliRunner.Run("apply", "--model", _f.P("tiny.onnx"), "--input", _f.P("photo.png"), "--output", _f.P("o.png"), "--size", "3").AssertOneError(ExitCodes.BadInput, "invalid size");
    }

    [Fact]
    public void Batch_apply_goes_on_past_bad_files_reports_them_and_resumes()
    {
        var outDir = _f.P("styled");
        var args = new[] { "batch", "apply", "--model", _f.P("tiny.onnx"), "--input", _f.P("photos"), "--output", outDir, "--threads", "1" };
        var r = CliRunner.Run(args);
        Assert.Equal(ExitCodes.PartialFailure, r.ExitCode);
        Assert.Contains("4 done, 0 skipped, 2 failed", r.Stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "p0.png")));
        Assert.Equal(6, File.ReadAllLines(Path.Combine(outDir, "manifest.jsonl")).Length);
        var again = CliRunner.Run(args);
        Assert.Contains("0 done, 4 skipped, 2 failed", again.Stdout);
    }
}
