using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.ML.Tests.Support;
using MLStyle.Onnx;
using MLStyle.Stylizers;

namespace MLStyle.ML.Tests;

public class StylizerTrainingTests
{
    static StylizerTrainingEstimator.Options Tiny(string? saveTo = null) => new()
    {
        StyleImage = TestData.Sample("style", "swirls.png"), CropSize = 32, BatchSize = 2, Iterations = 6, Width = 4, ResidualBlocks = 1,
        LearningRate = 1e-2f, ContentLayers = "conv1", StyleLayers = "conv1,layer1.1", Seed = 3, SaveStylizerTo = saveTo,
        OutputKind = ImageOutputKind.Pixels,
    };

    /// <summary>The two content rows and their mirror images (training needs at least 3 photos).</summary>
    static PixelRow[] FourRows() =>
        TestData.ContentRows(32).Concat(TestData.ContentRows(32).Select(r => new PixelRow { Pixels = r.Pixels.Reverse().ToArray() })).ToArray();

    [Fact]
    public void StylizeImages_FitTrainsOnTheColumn_TransformsEveryRow_AndSurvivesSaveLoad()
    {
        var ml = new MLContext(seed: 1);
        var rows = FourRows();
        var data = ml.Data.LoadFromEnumerable(rows);
        var file = Path.Combine(Path.GetTempPath(), $"mlstyle-trained-{Guid.NewGuid():N}.onnx");
        try
        {
            var estimator = ml.Transforms.StylizeImages("Stylized", "Pixels", Tiny(file));
            var model = estimator.Fit(data);
            var output = TestData.Column(model.Transform(data), "Stylized");
            Assert.Equal(rows.Length, output.Length);
            Assert.All(output, o => Assert.Equal(3 * 32 * 32, o.Length));
            Assert.All(output, o => Assert.All(o, v => Assert.InRange(v, 0f, 255f)));
            Assert.NotEqual(rows[0].Pixels, output[0]); // the styliser changed the photo

            // The exported file is the trained network and gives the same pixels outside ML.NET.
            Assert.True(File.Exists(file));
            Assert.NotNull(FastStylizer.ShapeOf(OnnxModels.Load(file)));
            using (var s = StylizerSession.Open(file))
            {
                var direct = s.Apply(new MLStyle.Imaging.ImageTensor(rows[0].Pixels, 32, 32)).Data;
                for (int i = 0; i < direct.Length; i++) Assert.Equal(direct[i], output[0][i], 0.01f);
            }

            var loaded = TestData.RoundTrip(ml, model, data.Schema);
            Assert.Equal(output, TestData.Column(loaded.Transform(data), "Stylized"));

            // Same seed: the same network.
            var again = TestData.Column(ml.Transforms.StylizeImages("Stylized", "Pixels", Tiny()).Fit(data).Transform(data), "Stylized");
            Assert.Equal(output, again);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void StylizeImages_WithSeveralStyles_TrainsOneNetwork_AppliesTheChosenBlend_AndSurvivesSaveLoad()
    {
        var ml = new MLContext(seed: 1);
        var rows = FourRows();
        var data = ml.Data.LoadFromEnumerable(rows);
        var file = Path.Combine(Path.GetTempPath(), $"mlstyle-trained2-{Guid.NewGuid():N}.onnx");
        try
        {
            StylizerTrainingEstimator.Options Two(float[]? weights, string? saveTo = null)
            {
                var o = Tiny(saveTo);
                o.StyleImage = "";
                o.StyleImages = new[] { TestData.Sample("style", "swirls.png"), TestData.Sample("style", "coffee.png") };
                o.StyleWeights = weights;
                return o;
            }
            var estimator = ml.Transforms.StylizeImages("Stylized", "Pixels", Two(new[] { 0.7f, 0.3f }, file));
            var model = estimator.Fit(data);
            var output = TestData.Column(model.Transform(data), "Stylized");
            Assert.Equal(2, FastStylizer.StyleCount(estimator.TrainedStylizer!));

            // The chain applies the 0.7/0.3 blend: the exported network (equal blend by default) gives the same pixels with those weights.
            using (var s = StylizerSession.Open(file))
            {
                Assert.Equal(2, s.Styles);
                var blended = s.Apply(new MLStyle.Imaging.ImageTensor(rows[0].Pixels, 32, 32), new[] { 0.7f, 0.3f }).Data;
                for (int i = 0; i < blended.Length; i++) Assert.Equal(blended[i], output[0][i], 0.01f);
                var equal = s.Apply(new MLStyle.Imaging.ImageTensor(rows[0].Pixels, 32, 32)).Data;
                Assert.True(equal.Zip(output[0]).Any(p => MathF.Abs(p.First - p.Second) > 0.5f), "the blend made no difference");
            }
            var loaded = TestData.RoundTrip(ml, model, data.Schema);
            Assert.Equal(output, TestData.Column(loaded.Transform(data), "Stylized"));

            // ApplyStylizer on the exported file: the same blend gives the same pixels; one-hot weights differ from it.
            var apply = ml.Transforms.ApplyStylizer("Stylized", "Pixels", new StylizerEstimator.Options { ModelFile = file, StyleWeights = new[] { 7f, 3f }, OutputKind = ImageOutputKind.Pixels });
            Assert.Equal(output, TestData.Column(apply.Fit(data).Transform(data), "Stylized"));
            var first = ml.Transforms.ApplyStylizer("Stylized", "Pixels", new StylizerEstimator.Options { ModelFile = file, StyleWeights = new[] { 1f, 0f }, OutputKind = ImageOutputKind.Pixels });
            Assert.NotEqual(output, TestData.Column(first.Fit(data).Transform(data), "Stylized"));
            // Without weights ApplyOnnxModel runs the file with its image input alone (the equal blend).
            var plain = TestData.Column(ml.Transforms.ApplyStylizer("Stylized", "Pixels", new StylizerEstimator.Options { ModelFile = file, OutputKind = ImageOutputKind.Pixels }).Fit(data).Transform(data), "Stylized");
            Assert.Equal(rows.Length, plain.Length);

            // Bad weights: a clear ArgumentException at construction.
            Assert.Contains("give 2 style weights", Assert.Throws<ArgumentException>(() => ml.Transforms.StylizeImages("S", "Pixels", Two(new[] { 1f }))).Message);
            Assert.Contains("0 or more", Assert.Throws<ArgumentException>(() => ml.Transforms.ApplyStylizer("S", "Pixels",
                new StylizerEstimator.Options { ModelFile = file, StyleWeights = new[] { -1f, 2f } })).Message);
            var both = Two(null);
            both.StyleImage = TestData.Sample("style", "swirls.png");
            Assert.Contains("not both", Assert.Throws<ArgumentException>(() => ml.Transforms.StylizeImages("S", "Pixels", both)).Message);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void StylizeImages_RefusesMissingStyleAndTooFewRows()
    {
        var ml = new MLContext(seed: 1);
        Assert.Throws<ArgumentException>(() => ml.Transforms.StylizeImages("S", "Pixels", new StylizerTrainingEstimator.Options()));
        var two = ml.Data.LoadFromEnumerable(TestData.ContentRows(32));
        var e = Assert.Throws<MLStyleException>(() => ml.Transforms.StylizeImages("S", "Pixels", Tiny()).Fit(two));
        Assert.Contains("at least 3", e.Message);
    }
}
