using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.Backbones;
using MLStyle.ML.Tests.Support;
using MLStyle.Runtime;

namespace MLStyle.ML.Tests;

public class DeepFeatureTests
{
    [Fact]
    public void ExtractDeepFeatures_MatchesTheBackbone_AndSurvivesSaveLoad()
    {
        var ml = new MLContext(seed: 1);
        var rows = TestData.ContentRows();
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.ExtractDeepFeatures("Features", "Pixels",
            new DeepFeatureExtractingEstimator.Options { Layers = new[] { "layer1.1" } });
        var model = pipeline.Fit(data);
        var output = model.Transform(data);

        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 64, 8, 8), output.Schema["Features"].Type);
        var features = TestData.Column(output, "Features");

        // Independent check: the backbone trunk run directly by ONNX Runtime.
        var backbone = BackboneFactory.ResNet18();
        var layer = backbone.Layer("layer1.1");
        using var session = new OnnxSession(backbone.TrunkFor(new[] { layer }));
        for (int r = 0; r < rows.Length; r++)
        {
            var expected = session.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = FloatTensor.Of(rows[r].Pixels, 1, 3, 32, 32) }, new[] { layer.Tensor })[layer.Tensor].Data;
            Assert.Equal(expected.Length, features[r].Length);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], features[r][i], 1e-4f);
        }
        Assert.NotEqual(features[0], features[1]);

        var loaded = TestData.RoundTrip(ml, model, data.Schema);
        Assert.Equal(features, TestData.Column(loaded.Transform(data), "Features"));
    }

    [Fact]
    public void ExtractDeepFeatures_SeveralLayersWithGlobalPooling()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TestData.ContentRows());
        var options = new DeepFeatureExtractingEstimator.Options { Layers = new[] { "conv1", "layer2.1" } };
        var maps = ml.Transforms.ExtractDeepFeatures(new[] { "Conv1", "Layer2" }, "Pixels", options).Fit(data).Transform(data);
        options.GlobalAveragePool = true;
        var pooled = ml.Transforms.ExtractDeepFeatures(new[] { "Conv1", "Layer2" }, "Pixels", options).Fit(data).Transform(data);

        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 64, 16, 16), maps.Schema["Conv1"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 128, 4, 4), maps.Schema["Layer2"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 128), pooled.Schema["Layer2"].Type);
        var map = TestData.Column(maps, "Layer2")[0];
        var mean = TestData.Column(pooled, "Layer2")[0];
        for (int c = 0; c < 128; c++) Assert.Equal(map.Skip(c * 16).Take(16).Average(), mean[c], 1e-3f);
    }

    [Fact]
    public void ExtractDeepFeatures_AnyOnnxCnn_ByPath()
    {
        // A tiny CNN file (conv, ReLU, max pool, conv, ReLU) used as a generic backbone, layers named by tensor.
        var b = MLStyle.Onnx.GraphBuilder.Create("tiny_cnn");
        var x = b.AddInput("data", MLStyle.Onnx.ElementType.Float, new long[] { -1, 3, -1, -1 }, new[] { "N", "", "H", "W" });
        var rng = new Random(2);
        string W(int o, int i) => b.Constant(Enumerable.Range(0, o * i * 9).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), new long[] { o, i, 3, 3 }, "w");
        var r1 = b.Relu(b.Node("Conv", new[] { x, W(4, 3) }, "conv_a", ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 })));
        var p1 = b.Node("MaxPool", new[] { r1 }, "pool_a", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        var r2 = b.Node("Relu", new[] { b.Node("Conv", new[] { p1, W(6, 4) }, "conv_b", ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 })) }, "features_b");
        b.AddOutput(r2, new MLStyle.Onnx.TensorInfo(MLStyle.Onnx.ElementType.Float, new long[] { -1, 6, -1, -1 }));
        var file = Path.Combine(Path.GetTempPath(), $"mlstyle-tiny-cnn-{Guid.NewGuid():N}.onnx");
        MLStyle.Onnx.OnnxModels.Save(b.Model, file);
        try
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(TestData.ContentRows());
            var output = ml.Transforms.ExtractDeepFeatures("F", "Pixels", new DeepFeatureExtractingEstimator.Options { BackboneName = file, Layers = new[] { "features_b" } })
                .Fit(data).Transform(data);
            Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 6, 16, 16), output.Schema["F"].Type);
            Assert.Contains(TestData.Column(output, "F")[0], v => v > 0);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void ExtractDeepFeatures_WrongColumnTypes_GiveSchemaMismatchErrors()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TestData.ContentRows());
        var sized = new DeepFeatureExtractingEstimator.Options { ImageWidth = 64, ImageHeight = 64, Layers = new[] { "conv1" } };

        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ExtractDeepFeatures("F", "Text", sized).Fit(data));
        Assert.StartsWith("Schema mismatch for input column 'Text': expected Vector<Single, 3, 64, 64>, got String", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ExtractDeepFeatures("F", "Pixels", sized).Fit(data));
        Assert.StartsWith("Schema mismatch for input column 'Pixels': expected Vector<Single, 3, 64, 64>, got Vector<Single, 3, 32, 32>", e2.Message);
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ExtractDeepFeatures("F", "Nope").Fit(data));
        Assert.StartsWith("Could not find input column 'Nope'", e3.Message);
        // The same checks through an estimator chain (GetOutputSchema runs first).
        var e4 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.CopyColumns("T2", "Text").Append(ml.Transforms.ExtractDeepFeatures("F", "T2")).Fit(data));
        Assert.StartsWith("Schema mismatch for input column 'T2': expected Vector<Single, 3, H, W>, got String", e4.Message);
        var e5 = Assert.Throws<ModelException>(() => ml.Transforms.ExtractDeepFeatures("F", "Pixels", new DeepFeatureExtractingEstimator.Options { Layers = new[] { "layer9" } }).Fit(data));
        Assert.Contains("has no layer 'layer9'", e5.Message);
    }
}
