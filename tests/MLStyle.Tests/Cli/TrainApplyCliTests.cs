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
            Corpus.Write(Dir.Path, "style2.png", Corpus.Photo(40, 40, 9));
            OnnxModels.Save(FastStylizer.Create(new StylizerShape(4, 1), 1), P("tiny.onnx"));
            OnnxModels.Save(FastStylizer.Create(new StylizerShape(4, 1, Styles: 2), 1), P("tiny2.onnx"));
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
        Assert.False(File.Exists(_f.P("x.onnx")));
    }

    [Fact]
    public void Train_with_several_styles_writes_one_network_a_preview_per_style_and_resumes_and_apply_blends_them()
    {
        var output = _f.P("t2.onnx");
        string[] TrainTwo(params string[] extra) =>
            ["train", "--styles", $"{_f.P("style.png")},{_f.P("style2.png")}", "--content", _f.P("photos"), "--output", output, "--size", "32",
             "--batch", "2", "--width", "4", "--residual-blocks", "1", "--content-layers", "conv1", "--style-layers", "conv1", "--threads", "1",
             "--learning-rate", "1e-2", .. extra];
        var r = CliRunner.Run(TrainTwo("--iterations", "4", "--checkpoint-every", "2", "--preview", _f.P("photo.png"), "--preview-size", "40", "--plot", _f.P("t2-loss.png")));
        Assert.True(r.ExitCode == ExitCodes.Ok, r.Stderr);
        Assert.Contains("style.png, style2.png", r.Stderr);
        foreach (var f in new[] { "t2.onnx", "t2.onnx.ckpt", "t2.style1.iter2.png", "t2.style2.iter2.png", "t2.style1.iter4.png", "t2.style2.iter4.png", "t2-loss.png" })
            Assert.True(File.Exists(_f.P(f)), f);
        Assert.Equal(2, FastStylizer.StyleCount(OnnxModels.Load(output)));
        var again = CliRunner.Run(TrainTwo("--iterations", "6", "--checkpoint-every", "2", "--resume"));
        Assert.True(again.ExitCode == ExitCodes.Ok, again.Stderr);
        Assert.Contains("resuming at iteration 4", again.Stderr);

        MLStyle.Imaging.ImageTensor Apply(string name, params string[] extra)
        {
            var a = CliRunner.Run(["apply", "--model", output, "--input", _f.P("photo.png"), "--output", _f.P(name), .. extra]);
            Assert.True(a.ExitCode == ExitCodes.Ok, a.Stderr);
            return MLStyle.Imaging.ImageIO.Load(_f.P(name));
        }
        var first = Apply("w10.png", "--style-weights", "1,0");
        var second = Apply("w01.png", "--style-weights", "0,1");
        Assert.NotEqual(first.Data, second.Data);
        // Weights are normalised: 2,2 is the equal blend, which is also the default.
        Assert.Equal(Apply("w22.png", "--style-weights", "2,2").Data, Apply("default.png").Data);
        var b = CliRunner.Run("batch", "apply", "--model", output, "--input", _f.P("photos"), "--output", _f.P("styled2"), "--threads", "1", "--style-weights", "0.7,0.3");
        Assert.Equal(ExitCodes.PartialFailure, b.ExitCode); // the two unreadable files, as without weights
        Assert.Contains("4 done", b.Stdout);
        Assert.Contains("\"style_weights\"", File.ReadAllText(Path.Combine(_f.P("styled2"), "manifest.jsonl")));
    }

    [Fact]
    public void Bad_style_options_are_one_clear_error()
    {
        string photo = _f.P("photo.png"), o = _f.P("sw.png");
        foreach (var (weights, message) in new[]
                 {
                     ("1", "give 2 style weights, not 1"), ("1,1,1", "give 2 style weights, not 3"), ("-1,2", "0 or more"),
                     ("0,0", "at least one must be positive"), ("a,b", "--style-weights"), (",", "--style-weights"),
                 })
        {
            CliRunner.Run("apply", "--model", _f.P("tiny2.onnx"), "--input", photo, "--output", o, "--style-weights", weights).AssertOneError(ExitCodes.BadInput, message);
            CliRunner.Run("batch", "apply", "--model", _f.P("tiny2.onnx"), "--input", _f.P("few"), "--output", _f.P("sw-batch"), "--style-weights", weights)
                .AssertOneError(ExitCodes.BadInput, message);
        }
        CliRunner.Run("apply", "--model", _f.P("tiny.onnx"), "--input", photo, "--output", o, "--style-weights", "1,0").AssertOneError(ExitCodes.BadInput, "holds one style");
        Assert.False(File.Exists(o));
        Assert.False(Directory.Exists(_f.P("sw-batch")) && Directory.EnumerateFiles(_f.P("sw-batch"), "*.png").Any());

        string[] TrainArgs(params string[] styleArgs) =>
            ["train", .. styleArgs, "--content", _f.P("photos"), "--output", _f.P("y.onnx"), "--size", "32", "--iterations", "1", "--threads", "1"];
        CliRunner.Run(TrainArgs("--style", _f.P("style.png"), "--styles", $"{_f.P("style.png")},{_f.P("style2.png")}")).AssertOneError(ExitCodes.BadInput, "not both");
        CliRunner.Run(TrainArgs("--styles", _f.P("style.png"))).AssertOneError(ExitCodes.BadInput, "at least two");
        CliRunner.Run(TrainArgs("--styles", $"{_f.P("style.png")},{_f.P("nope.png")}")).AssertOneError(ExitCodes.BadInput, "nope.png");
        // --style a,b is still one file name; when no such file exists the error points to --styles.
        CliRunner.Run(TrainArgs("--style", $"{_f.P("style.png")},{_f.P("style2.png")}")).AssertOneError(ExitCodes.BadInput, "use --styles");
        Assert.False(File.Exists(_f.P("y.onnx")));
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
