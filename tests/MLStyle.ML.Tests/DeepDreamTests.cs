using Microsoft.ML;
using MLStyle.ML.Internal;
using MLStyle.ML.Tests.Support;
using MLStyle.Runtime;

namespace MLStyle.ML.Tests;

public class DeepDreamTests
{
    [Fact]
    public void DeepDream_RaisesTheObjective_AndSurvivesSaveLoad()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TestData.ContentRows());
        var options = new DeepDreamEstimator.Options { Layers = new[] { "layer1.1" }, Iterations = 3, Octaves = 2, OutputKind = ImageOutputKind.Pixels };
        var estimator = ml.Transforms.DeepDream("Dream", "Pixels", options);

        var model = estimator.Fit(data);
        var output = model.Transform(data);
        var dream = TestData.Column(output, "Dream");
        var input = TestData.Column(output, "Pixels");
        Assert.NotEqual(input[0], dream[0]);
        Assert.All(dream[0], v => Assert.InRange(v, 0, 255));

        var loaded = TestData.RoundTrip(ml, model, data.Schema);
        Assert.Equal(dream, TestData.Column(loaded.Transform(data), "Dream"));

        using var session = new OnnxSession(estimator.BuildModel(new ImageSize(32, 32), "dream"));
        var objective = session.Run(new Dictionary<string, FloatTensor> { ["Pixels"] = FloatTensor.Of(input[0], 1, 3, 32, 32) })[StyleTransferEstimator.LossesOutput].Data;
        Assert.Equal(6, objective.Length);
        Assert.True(objective[5] > objective[3], $"octave 2: objective {objective[3]} -> {objective[5]}");
        Assert.True(objective[2] > objective[0], $"octave 1: objective {objective[0]} -> {objective[2]}");
        Assert.Equal(new[] { new ImageSize(23, 23), new ImageSize(32, 32) }, DeepDreamEstimator.OctaveSizes(new ImageSize(32, 32), 2, 1.4f));

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.DeepDream("D", "Name").Fit(data));
        Assert.StartsWith("Schema mismatch for input column 'Name': expected Vector<Single, 3, H, W> (planar RGB pixels, as from ExtractPixels), got String", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.DeepDream("D", "Pixels", new DeepDreamEstimator.Options { Octaves = 0 }));
    }
}
