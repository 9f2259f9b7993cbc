#nullable enable
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Losses;
using MLStyle.Tests.Cli;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Safety;

/// <summary>A run that did nothing never looks like a success: L-BFGS that stalls falls back to Adam; a run that still stalls is reported.</summary>
public sealed class NoProgressTests : IDisposable
{
    readonly TestImages.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static readonly WeightedLayer[] Layers = [new("conv2_relu", 1)];

    Backbone CustomCnn() => BackboneFactory.Resolve(SafetyModels.Save(SafetyModels.Backbone(), _dir.File("custom.onnx")));

    StyleTransferResult Run(string optimizer, float learningRate) =>
        new StyleTransferEngine(CustomCnn(), new MLStyle.Runtime.SessionSettings { Threads = 2 }).Run(
            TestImages.Synthetic(24, 24, 1), [TestImages.Synthetic(24, 24, 2)],
            new StyleTransferOptions { Size = 24, Iterations = 30, Optimizer = optimizer, LearningRate = learningRate, ContentLayers = Layers, StyleLayers = Layers });

    [Fact]
    public void LbfgsThatMakesNoProgressFallsBackToAdam()
    {
        // Steps of 1e-12 change nothing: L-BFGS "converges" after the monitor's patience with the loss unchanged.
        var r = Run("lbfgs", 1e-12f);
        Assert.Contains("L-BFGS made no progress", r.StopReason);
        Assert.Contains("continued with Adam", r.StopReason);
        Assert.True(r.Final.Loss < r.Initial.Loss * 0.99f, $"loss {r.Initial.Loss} -> {r.Final.Loss}");
        Assert.False(r.Stalled);
    }

    [Fact]
    public void ARunThatStillMakesNoProgressIsReportedNotSuccessful()
    {
        var r = Run("adam", 1e-12f);
        Assert.True(r.Stalled, r.StopReason);
        Assert.StartsWith("no progress", r.StopReason);

        var content = Batch.Corpus.Write(_dir.Path, "c.png", Batch.Corpus.Photo(24, 24, 1));
        var style = Batch.Corpus.Write(_dir.Path, "s.png", Batch.Corpus.Photo(24, 24, 2));
        var cli = CliRunner.Run("stylize", "--model", _dir.File("custom.onnx"), "--content", content, "--style", style, "--output", _dir.File("o.png"),
            "--size", "24", "--iterations", "8", "--optimizer", "adam", "--learning-rate", "1e-12", "--style-layers", "conv2_relu", "--content-layers", "conv2_relu", "--threads", "2");
        Assert.True(cli.ExitCode == MLStyle.Cli.ExitCodes.NoProgress, cli.Stderr);
        Assert.Contains("error: the optimisation made no progress", cli.Stderr);
        cli.AssertNoStackTrace();
    }
}
