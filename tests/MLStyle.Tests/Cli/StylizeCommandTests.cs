using MLStyle.Imaging;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Cli;

/// <summary>The mlstyle executable end to end on tiny images (run as a separate process, as users run it).</summary>
public class StylizeCommandTests
{
    internal static (int Exit, string Stdout, string Stderr) Mlstyle(params string[] args)
    {
        var r = CliRunner.RunProcess(args);
        return (r.ExitCode, r.Stdout, r.Stderr);
    }

    [Fact]
    public void Stylize_WritesImagePlotAndSnapshots_AndASummaryLine()
    {
        using var dir = new TestImages.TempDir();
        var output = dir.File("out.png");
        var (exit, stdout, stderr) = Mlstyle("stylize", "--content", TestImages.Sample("content/chelsea.png"), "--style", TestImages.Sample("style/swirls.png"),
            "--output", output, "--size", "40", "--iterations", "4", "--style-layers", "conv1,layer1.0", "--content-layers", "layer1.0",
            "--plot", dir.File("loss.png"), "--save-every", "2", "--threads", "1", "--tolerance", "0");
        Assert.True(exit == 0, stderr);
        var img = ImageIO.Load(output);
        Assert.Equal(40, img.Width);
        Assert.True(File.Exists(dir.File("loss.png")));
        Assert.True(File.Exists(dir.File("out.iter2.png")) && File.Exists(dir.File("out.iter4.png")));
        Assert.Matches(@"(?m)wrote .*out\.png: 40x27 in [0-9.]+ s, 4 iterations \([0-9.]+ it/s\), peak memory [0-9.]+ [MG]iB; content .* -> .*, style .* -> .*; stopped: ran all 4 iterations$", stdout.Trim());
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => Path.GetFileName(f).StartsWith('.'));
    }

    [Fact]
    public void Stylize_PreserveColorsAndTwoStylesAndScales_Run()
    {
        using var dir = new TestImages.TempDir();
        var (exit, _, stderr) = Mlstyle("stylize", "--content", TestImages.Sample("content/chelsea.png"),
            "--style", TestImages.Sample("style/swirls.png") + "," + TestImages.Sample("style/coffee.png"), "--style-blend", "0.7,0.3",
            "--output", dir.File("o.jpg"), "--scales", "24,40", "--iterations", "2", "--preserve-colors", "--optimizer", "adam",
            "--style-layers", "conv1", "--content-layers", "conv1", "--init", "random", "--seed", "3", "--device", "cuda");
        Assert.True(exit == 0, stderr);
        Assert.Equal(40, ImageIO.Load(dir.File("o.jpg")).Width);
    }

    [Theory]
    [InlineData("--size", "-5", "invalid size -5")]
    [InlineData("--optimizer", "sgd", "unknown optimizer 'sgd'")]
    [InlineData("--style-blend", "1,2,3", "--style-blend has 3 weights for 1 style images")]
    [InlineData("--style-layers", "nope", "backbone 'resnet18' has no layer 'nope'")]
    [InlineData("--device", "tpu", "invalid device 'tpu'")]
    [InlineData("--model", "vgg77", "unknown model 'vgg77'")]
    [InlineData("--init", "missing.png", "--init: 'missing.png' is neither content, random nor an existing image")]
    [InlineData("--history-precision", "double", "invalid --history-precision 'double': use half or single")]
    public void Stylize_BadOptions_OneLineError_Exit2(string option, string value, string message)
    {
        using var dir = new TestImages.TempDir();
        var (exit, _, stderr) = Mlstyle("stylize", "--content", TestImages.Sample("content/chelsea.png"), "--style", TestImages.Sample("style/swirls.png"),
            "--output", dir.File("o.png"), "--size", "32", "--iterations", "1", option, value);
        Assert.Equal(2, exit);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(message, lines[0]);
        Assert.False(File.Exists(dir.File("o.png")));
    }

    [Fact]
    public void Grad_WritesTheContractModel_AndRejectsUnknownTensors()
    {
        using var dir = new TestImages.TempDir();
        var m = GradCheck.OneNode("Conv", new[] { ("X", new long[] { 1, 2, 5, 5 }), ("W", new long[] { 3, 2, 3, 3 }) }, ("pads", new long[] { 1, 1, 1, 1 }));
        MLStyle.Onnx.OnnxModels.Save(m, dir.File("m.onnx"));
        var (exit, stdout, stderr) = Mlstyle("grad", "--model", dir.File("m.onnx"), "--of", "Y", "--wrt", "X,W", "--output", dir.File("g.onnx"));
        Assert.True(exit == 0, stderr);
        var g = MLStyle.Onnx.OnnxModels.Load(dir.File("g.onnx"));
        Assert.Equal(new[] { "X", "W", "Y_seed" }, g.Graph.Input.Select(i => i.Name).ToArray());
        Assert.Equal(new[] { "Y", "X_grad", "W_grad" }, g.Graph.Output.Select(o => o.Name).ToArray());
        Assert.Contains("wrote", stdout);
        var bad = Mlstyle("grad", "--model", dir.File("m.onnx"), "--of", "Nope", "--wrt", "X", "--output", dir.File("g2.onnx"));
        Assert.Equal(2, bad.Exit);
        Assert.Equal("error: model has no tensor named 'Nope'", bad.Stderr.Trim());
        File.WriteAllText(dir.File("junk.onnx"), "junk");
        var junk = Mlstyle("grad", "--model", dir.File("junk.onnx"), "--of", "Y", "--wrt", "X", "--output", dir.File("g3.onnx"));
        Assert.Equal(2, junk.Exit);
        Assert.Contains("is not an ONNX model", junk.Stderr);
    }

    [Fact]
    public void CudaWithoutCuda_GivesOneWarningLine_AndRunsOnTheCpu()
    {
        using var dir = new TestImages.TempDir();
        var (exit, _, stderr) = Mlstyle("stylize", "--content", TestImages.Sample("content/chelsea.png"), "--style", TestImages.Sample("style/swirls.png"),
            "--output", dir.File("o.png"), "--size", "32", "--iterations", "1", "--style-layers", "conv1", "--content-layers", "conv1", "--device", "cuda");
        Assert.True(exit == 0, stderr);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("stylize", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(lines, l => l.Contains("[E:onnxruntime", StringComparison.Ordinal));
        if (MLStyle.Runtime.SessionFactory.ProbeCuda(0) is not null)
            Assert.Single(lines, l => l.StartsWith("warning: CUDA device 0 is not available", StringComparison.Ordinal));
    }

    [Fact]
    public void Models_ListsTheResNet18Layers()
    {
        var (exit, stdout, stderr) = Mlstyle("models", "--model", "resnet18");
        Assert.True(exit == 0, stderr);
        Assert.Contains("layer3.1", stdout);
        Assert.Contains("resnet18", stdout);
        Assert.DoesNotContain("SWAG", stdout);      // softmax smoothing gave colour noise: no longer offered or praised
        Assert.DoesNotContain("smoothing", stdout);
    }
}
