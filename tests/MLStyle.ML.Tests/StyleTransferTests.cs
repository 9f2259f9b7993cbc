using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLStyle.ML.Internal;
using MLStyle.ML.Tests.Support;
using MLStyle.Runtime;

namespace MLStyle.ML.Tests;

public class StyleTransferTests
{
    static StyleTransferEstimator.Options SmallOptions(int iterations = 6) => new()
    {
        StyleImages = { TestData.Sample("style", "swirls.png") },
        Iterations = iterations,
        ContentLayers = new[] { "layer1.1" },
        StyleLayers = new[] { "conv1", "layer1.1" },
        LearningRate = 8,
    };

    [Fact]
    public void StyleTransfer_InAnImagePipeline_StylisesAndSurvivesSaveLoad()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new PathRow { Path = "chelsea.png" }, new PathRow { Path = "cincinnati-bridge.jpg" } });
        var pipeline = ml.Transforms.LoadImages("Image", TestData.Sample("content"), "Path")
            .Append(ml.Transforms.ResizeImages("Image", 32, 32, resizing: ImageResizingEstimator.ResizingKind.IsoCrop))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.Transforms.StyleTransfer("Stylized", "Pixels", SmallOptions()));
        var model = pipeline.Fit(data);
        var output = model.Transform(data);

        Assert.Equal(new ImageDataViewType(32, 32), output.Schema["Stylized"].Type);
        var input = TestData.Column(output, "Pixels");
        var stylised = TestData.ImagePixels(ml, output, "Stylized");
        for (int r = 0; r < input.Length; r++)
        {
            double change = input[r].Zip(stylised[r], (a, b) => Math.Abs(a - b)).Average();
            Assert.InRange(change, 2, 100); // it moved, but it is still an image of the content
            Assert.All(stylised[r], v => Assert.InRange(v, 0, 255));
        }

        var loaded = TestData.RoundTrip(ml, model, data.Schema, out long bytes);
        Assert.Equal(stylised, TestData.ImagePixels(ml, loaded.Transform(data), "Stylized"));
        Assert.InRange(bytes, 100_000, 2_000_000); // the ONNX graph (small trunk, flipped kernels for the gradient) is in the zip
    }

    [Fact]
    public void StyleTransferLoop_LowersTheLoss()
    {
        var ml = new MLContext(seed: 1);
        var rows = TestData.ContentRows();
        var estimator = ml.Transforms.StyleTransfer("Out", "Pixels", SmallOptions(iterations: 8));
        var model = estimator.BuildModel(new ImageSize(32, 32), "out");
        using var session = new OnnxSession(model);
        var result = session.Run(new Dictionary<string, FloatTensor> { ["Pixels"] = FloatTensor.Of(rows[0].Pixels, 1, 3, 32, 32) });
        var losses = result[StyleTransferEstimator.LossesOutput].Data;
        Assert.Equal(8, losses.Length);
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses[^1] < 0.7f * losses[0], $"loss went from {losses[0]} to {losses[^1]}");
        // The Loop body reads the backbone's weights from the outer graph: they are stored once.
        var loop = model.Graph.Node.Single(n => n.OpType == "Loop");
        Assert.Empty(loop.Attribute.Single(a => a.Name == "body").G.Initializer);
    }

    [Fact]
    public void StyleTransfer_StyleBlend_WeightsTheGramTargets()
    {
        var ml = new MLContext(seed: 1);
        float[][] Grams(StyleTransferEstimator.Options o) => ml.Transforms.StyleTransfer("Out", "Pixels", o).BuildModel(new ImageSize(32, 32), "out")
            .Graph.Initializer.Where(t => t.Name.StartsWith("style_gram_")).OrderBy(t => t.Name).Select(MLStyle.Onnx.TensorProtos.ToFloats).ToArray();
        var swirls = Grams(SmallOptions());
        var coffeeOnly = SmallOptions();
        coffeeOnly.StyleImages[0] = TestData.Sample("style", "coffee.png");
        var coffee = Grams(coffeeOnly);
        var both = SmallOptions();
        both.StyleImages.Add(TestData.Sample("style", "coffee.png"));
        both.StyleBlend = new[] { 3f, 1f };
        var blend = Grams(both);
        Assert.Equal(2, blend.Length);
        for (int l = 0; l < blend.Length; l++)
            for (int i = 0; i < blend[l].Length; i += 97)
                Assert.Equal(0.75f * swirls[l][i] + 0.25f * coffee[l][i], blend[l][i], 1e-4f * Math.Max(1f, Math.Abs(blend[l][i])));
        Assert.NotEqual(swirls[0], coffee[0]);
    }

    [Fact]
    public void StyleTransfer_PixelsOutput_PreserveColors_KeepsTheInputChroma()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TestData.ContentRows());
        var options = SmallOptions(3);
        options.PreserveColors = true;
        options.OutputKind = ImageOutputKind.Pixels;
        var output = ml.Transforms.StyleTransfer("Out", "Pixels", options).Fit(data).Transform(data);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3, 32, 32), output.Schema["Out"].Type);
        var input = TestData.Column(output, "Pixels")[0];
        var result = TestData.Column(output, "Out")[0];
        int n = 32 * 32, compared = 0;
        for (int p = 0; p < n; p++)
        {
            if (Enumerable.Range(0, 3).Any(c => result[c * n + p] is <= 0.01f or >= 254.99f)) continue; // clipped
            var (_, i0, q0) = Yiq(input, p, n);
            var (_, i1, q1) = Yiq(result, p, n);
            Assert.Equal(i0, i1, 0.05f);
            Assert.Equal(q0, q1, 0.05f);
            compared++;
        }
        Assert.True(compared > n / 2);
        Assert.NotEqual(input, result);
    }

    internal static (float Y, float I, float Q) Yiq(float[] rgb, int p, int n)
    {
        float r = rgb[p], g = rgb[n + p], b = rgb[2 * n + p];
        return (0.299f * r + 0.587f * g + 0.114f * b, 0.595716f * r - 0.274453f * g - 0.321263f * b, 0.211456f * r - 0.522591f * g + 0.311135f * b);
    }

    [Fact]
    public void StyleTransfer_BadInput_GivesClearErrors()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TestData.ContentRows());
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.StyleTransfer("Out", "Text", SmallOptions()).Fit(data));
        Assert.StartsWith("Schema mismatch for input column 'Text': expected Vector<Single, 3, H, W> (planar RGB pixels, as from ExtractPixels), got String", e1.Message);
        Assert.Throws<ArgumentException>(() => ml.Transforms.StyleTransfer("Out", "Pixels", new StyleTransferEstimator.Options()));
        var missing = SmallOptions();
        missing.StyleImages[0] = "no-such-style.png";
        Assert.ThrowsAny<MLStyleException>(() => ml.Transforms.StyleTransfer("Out", "Pixels", missing).Fit(data));
    }
}
