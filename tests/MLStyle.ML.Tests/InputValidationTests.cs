using Microsoft.ML;
using MLStyle.ML.Tests.Support;

namespace MLStyle.ML.Tests;

/// <summary>Pixel scale and option ranges are checked with messages that say what to change.</summary>
public class InputValidationTests
{
    static IDataView Scaled(MLContext ml, float scale, float offset = 0) => ml.Data.LoadFromEnumerable(TestData.ContentRows()
        .Select(r => new PixelRow { Name = r.Name, Pixels = r.Pixels.Select(p => p * scale + offset).ToArray() }));

    [Fact]
    public void PixelsScaledTo01_AreRejectedAtFit_NamingScaleImage()
    {
        var ml = new MLContext(seed: 1);
        var data = Scaled(ml, 1 / 255f);
        var estimators = new Func<IEstimator<ITransformer>>[]
        {
            () => ml.Transforms.ExtractStyleFeatures("F", "Pixels", new StyleFeatureExtractingEstimator.Options { Layers = new[] { "conv1" } }),
            () => ml.Transforms.ExtractDeepFeatures("F", "Pixels", new DeepFeatureExtractingEstimator.Options { Layers = new[] { "conv1" } }),
            () => ml.Transforms.DeepDream("D", "Pixels", new DeepDreamEstimator.Options { Layers = new[] { "layer1.0" }, Iterations = 1, Octaves = 1 }),
        };
        foreach (var make in estimators)
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => make().Fit(data));
            Assert.Contains("expects RGB 0–255", e.Message);
            Assert.Contains("scaleImage", e.Message);
        }
        // The same images at 0–255 fit.
        Assert.NotNull(estimators[0]().Fit(Scaled(ml, 1)));
    }

    [Fact]
    public void PixelsShiftedBelowZero_AreRejected_NamingOffsetImage()
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms
            .ExtractStyleFeatures("F", "Pixels", new StyleFeatureExtractingEstimator.Options { Layers = new[] { "conv1" } }).Fit(Scaled(ml, 1, -128)));
        Assert.Contains("offsetImage", e.Message);
    }

    [Theory]
    [InlineData("ContentWeight")]
    [InlineData("StyleWeight")]
    [InlineData("TvWeight")]
    public void NegativeLossWeights_AreRejected(string option)
    {
        var o = new StyleTransferEstimator.Options { StyleImages = { TestData.Sample("style", "swirls.png") } };
        typeof(StyleTransferEstimator.Options).GetProperty(option)!.SetValue(o, -1f);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext().Transforms.StyleTransfer("S", "Pixels", o));
        Assert.Equal(option, e.ParamName);
        Assert.Contains("non-negative", e.Message);
    }
}
