#nullable enable
using MLStyle.Imaging;
using MLStyle.Onnx;
using MLStyle.Tests.Batch;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Cli;

/// <summary>
/// Bad input through <c>mlstyle stylize</c>: every case exits with its documented code and prints exactly one
/// <c>error:</c> line, never a stack trace. The corpus is generated in a temporary directory.
/// </summary>
public sealed class BadInputTests : IClassFixture<BadInputTests.Files>
{
    /// <summary>The corpus, written once for the class.</summary>
    public sealed class Files : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Style => Path.Combine(Dir.Path, "style.png");
        public string Content => Path.Combine(Dir.Path, "content.png");

        public Files()
        {
            Corpus.Write(Dir.Path, "style.png", Corpus.Photo(32, 32, 3));
            Corpus.Write(Dir.Path, "content.png", Corpus.Photo(40, 30, 4));
            foreach (var (name, (bytes, _)) in Corpus.Bad()) Corpus.Write(Dir.Path, name, bytes);
            Corpus.Write(Dir.Path, "not-a-model.onnx", "ONNX? no: just text"u8.ToArray());
            // A valid ONNX CNN with one convolution (layer 'features'), to ask it for layers it does not have.
            var b = GraphBuilder.Create("tiny", 17);
            b.AddInput("image", ElementType.Float, [-1, 3, -1, -1]);
            var rng = new Random(5);
            var w = b.Constant(Enumerable.Range(0, 4 * 3 * 3 * 3).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(), [4, 3, 3, 3], "w");
            var conv = b.Node("Conv", ["image", w], "features", ("pads", new long[] { 1, 1, 1, 1 }));
            var relu = b.Node("Relu", [conv], "features_relu");
            b.AddOutput(relu);
            OnnxModels.Save(b.Model, Path.Combine(Dir.Path, "tiny.onnx"));
        }

        public string P(string name) => Path.Combine(Dir.Path, name);

        public void Dispose() => Dir.Dispose();
    }

    readonly Files _f;

    public BadInputTests(Files files) => _f = files;

    string[] Stylize(string content, params string[] extra) =>
        ["stylize", "--content", content, "--style", _f.Style, "--output", _f.P("out.png"), "--size", "32", "--iterations", "2",
         "--style-layers", "conv1", "--content-layers", "conv1", .. extra];

    [Theory]
    [InlineData("bad/empty.jpg", "empty")]
    [InlineData("bad/truncated.jpg", "truncated")]
    [InlineData("bad/truncated-header.png", "truncated")]
    [InlineData("bad/corrupt.png", "corrupt")]
    [InlineData("bad/notes.png", "not an image")]
    [InlineData("bad/scan.bmp", "TIFF images are not supported")]
    [InlineData("bad/bomb.png", "--max-pixels")]
    [InlineData("missing.jpg", "file not found")]
    public void BadContentImageIsOneErrorLineAndExitCode2(string name, string reason)
    {
        var r = CliRunner.Run(Stylize(_f.P(name)));
        r.AssertOneError(2, reason);
        Assert.Contains(name.Split('/')[^1], r.ErrorLines[0]);
        Assert.False(File.Exists(_f.P("out.png")));
    }

    [Fact]
    public void BadStyleImageIsOneErrorLine()
    {
        var r = CliRunner.Run(["stylize", "--content", _f.Content, "--style", _f.P("bad/empty.jpg"), "--output", _f.P("out.png"), "--size", "32"]);
        r.AssertOneError(2, "empty");
    }

    [Fact]
    public void PixelGuardIsCheckedFromTheHeader()
    {
        // content.png is 40x30 = 1200 pixels.
        CliRunner.Run(Stylize(_f.Content, "--max-pixels", "1000")).AssertOneError(2, "--max-pixels");
    }

    [Theory]
    [InlineData("invalid size -5", "--size", "-5")]
    [InlineData("invalid iterations", "--iterations", "-1")]
    [InlineData("unknown optimizer 'sgd'", "--optimizer", "sgd")]
    [InlineData("invalid --learning-rate 'fast'", "--learning-rate", "fast")]
    [InlineData("invalid L-BFGS history 0", "--history", "0")]
    [InlineData("--style-blend has 2 weights for 1 style images", "--style-blend", "0.5,0.5")]
    [InlineData("invalid --threads -1", "--threads", "-1")]
    [InlineData("unknown option", "--smoothing", "softmax")] // removed: it gave colour noise instead of style
    [InlineData("no layer 'layer9.9'", "--content-layers", "layer9.9")]
    [InlineData("unknown option", "--colour", "red")]
    [InlineData("invalid memory size", "--max-memory", "lots")]
    [InlineData("neither content, random nor an existing image", "--init", "nowhere.png")]
    public void InvalidOptionIsOneErrorLine(string reason, string option, string value)
    {
        var args = Stylize(_f.Content).Where((a, i) => !(a == option || i > 0 && Stylize(_f.Content)[i - 1] == option)).ToList();
        args.AddRange([option, value]);
        CliRunner.Run([.. args]).AssertOneError(2, reason);
    }

    [Fact]
    public void MissingOutputDirectoryIsOneErrorLine()
    {
        var r = CliRunner.Run(["stylize", "--content", _f.Content, "--style", _f.Style, "--output", _f.P("no/such/dir/out.png"), "--size", "32"]);
        r.AssertOneError(2, "does not exist");
    }

    [Fact]
    public void OutputUnderAFileIsOneErrorLine()
    {
        // A path whose "directory" is a file cannot be written, whoever runs the test (root ignores permission bits).
        var r = CliRunner.Run(["stylize", "--content", _f.Content, "--style", _f.Style, "--output", Path.Combine(_f.Content, "out.png"), "--size", "32"]);
        r.AssertOneError(2, "does not exist");
    }

    [Fact]
    public void UnsupportedOutputFormatIsOneErrorLine()
    {
        var r = CliRunner.Run(["stylize", "--content", _f.Content, "--style", _f.Style, "--output", _f.P("out.tiff"), "--size", "32"]);
        r.AssertOneError(2, "unsupported output format");
    }

    [Fact]
    public void ModelThatIsNotOnnxIsOneErrorLine()
    {
        CliRunner.Run(Stylize(_f.Content, "--model", _f.P("not-a-model.onnx"))).AssertOneError(2, "is not an ONNX model");
    }

    [Fact]
    public void ModelWithoutTheRequestedLayerIsOneErrorLine()
    {
        var args = new[] { "stylize", "--content", _f.Content, "--style", _f.Style, "--output", _f.P("out.png"), "--size", "32",
            "--model", _f.P("tiny.onnx"), "--style-layers", "conv1", "--content-layers", "features_relu" };
        CliRunner.Run(args).AssertOneError(2, "no layer 'conv1'");
    }

    [Fact]
    public void MemoryLimitBelowEvenAdamExitsWith5()
    {
        CliRunner.Run(Stylize(_f.Content, "--max-memory", "64MiB")).AssertOneError(5, "above the limit of 64 MiB");
        Assert.False(File.Exists(_f.P("out.png")));
    }

    [Fact]
    public void MemoryLimitBelowLbfgsFallsBackToAdamWithAWarning()
    {
        var options = new MLStyle.Engines.StyleTransferOptions
        {
            Size = 32, Iterations = 2, ContentLayers = [new("conv1", 1)], StyleLayers = [new("conv1", 1)],
        };
        var adam = MLStyle.Engines.Preflight.Estimate(MLStyle.Backbones.BackboneFactory.ResNet18(), options with { Optimizer = "adam" }, 40, 30);
        var output = _f.P("fallback.png");
        var r = CliRunner.Run([.. Stylize(_f.Content, "--max-memory", adam.PeakBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)).Select(a => a == _f.P("out.png") ? output : a)]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains(r.ErrorLines, l => l.StartsWith("warning: L-BFGS", StringComparison.Ordinal) && l.Contains("using Adam"));
        Assert.Contains("adam", r.ErrorLines.First(l => l.StartsWith("stylizing", StringComparison.Ordinal)));
        Assert.True(File.Exists(output));
    }

    [Fact]
    public void DryRunPrintsTheEstimateAndDoesNotRun()
    {
        var output = _f.P("dry.png");
        var r = CliRunner.Run(["stylize", "--content", _f.Content, "--style", _f.Style, "--output", output, "--size", "256", "--dry-run"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("estimate: 256x192, lbfgs history 25: peak memory ~", r.Stdout);
        Assert.False(File.Exists(output));
        r.AssertNoStackTrace();
    }

    [Fact]
    public void DivergenceExitsWith4AndKeepsTheLastGoodImage()
    {
        var output = _f.P("diverged.png");
        var r = CliRunner.Run(["stylize", "--content", _f.Content, "--style", _f.Style, "--output", output, "--size", "32", "--iterations", "5",
            "--style-layers", "conv1", "--content-layers", "conv1", "--optimizer", "adam", "--learning-rate", "1e30", "--tolerance", "0"]);
        Assert.Equal(4, r.ExitCode);
        var errors = r.ErrorLines.Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Single(errors);
        Assert.Contains("diverged", errors[0]);
        r.AssertNoStackTrace();
        var image = ImageIO.Load(output);
        Assert.Equal((32, 24), (image.Width, image.Height));
        Assert.All(image.Data, v => Assert.InRange(v, 0f, 255f));
    }

    [Fact]
    public void SeparateProcessPrintsOneErrorLine()
    {
        var r = CliRunner.RunProcess("stylize", "--content", _f.P("bad/empty.jpg"), "--style", _f.Style, "--output", _f.P("out.png"));
        r.AssertOneError(2, "empty");
    }
}
