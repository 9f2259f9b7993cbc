using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Backbones;

public class BackboneTests
{
    [Fact]
    public void ResNet18_HasTorchvisionStyleLayers_AtTheRightStrides()
    {
        var b = BackboneFactory.ResNet18();
        Assert.Equal("resnet18", b.Name);
        Assert.Equal((64L, 2), (b.Layer("conv1").Channels, b.Layer("conv1").Stride));
        Assert.Equal((64L, 4), (b.Layer("layer1.1").Channels, b.Layer("layer1.1").Stride));
        Assert.Equal((256L, 16), (b.Layer("layer3.1").Channels, b.Layer("layer3.1").Stride));
        Assert.Equal(512L, b.Layer("layer4.2").Channels);
        Assert.Contains(b.Layers, l => l.Name == "layer2.0.relu");
        var e = Assert.Throws<ModelException>(() => b.Layer("relu4_2"));
        Assert.Contains("backbone 'resnet18' has no layer 'relu4_2'", e.Message);
    }

    [Theory]
    [InlineData(224, 224)]
    [InlineData(97, 61)] // odd sizes: the CNTK pads are replaced by SAME padding
    public void ResNet18_RunsAtAnySize_AndMatchesTheOriginalAt224(int w, int h)
    {
        var b = BackboneFactory.ResNet18();
        var img = FloatTensor.Of(GradCheck.Random(4, 3L * h * w, 50f, 120f), 1, 3, h, w);
        using var s = new OnnxSession(b.TrunkFor(new[] { b.Layer("layer4.2") }));
        var y = s.Run(new Dictionary<string, FloatTensor> { ["image"] = img }).Values.Single();
        Assert.Equal(new long[] { 1, 512, (h + 31) / 32, (w + 31) / 32 }, y.Shape);
        if (w != 224) return;
        // The original CNTK network, fed BGR minus the per-channel mean of its mean image, then 7×7-pooled, must equal our
        // trunk's layer4 output pooled: this checks the channel swap, the mean, the BN folding and the padding rewrite.
        var dir = BackboneFactory.DefaultModelDirectory;
        var meanImage = OnnxModels.Load(Path.Combine(dir, ResNet18Backbone.PreprocessFile)).Graph.Initializer.First(t => t.Dims.Count == 4);
        var mean = TensorProtos.ToFloats(meanImage);
        int plane = 224 * 224;
        var bgr = new float[3 * plane];
        for (int c = 0; c < 3; c++)
        {
            float m = (float)mean.Skip(c * plane).Take(plane).Average();
            for (int i = 0; i < plane; i++) bgr[c * plane + i] = img.Data[(2 - c) * plane + i] - m;
        }
        using var net = new OnnxSession(OnnxModels.Load(Path.Combine(dir, ResNet18Backbone.NetworkFile)));
        var pooled = net.Run(new Dictionary<string, FloatTensor> { ["Input247"] = FloatTensor.Of(bgr, 1, 3, 224, 224) }).Values.Single().Data;
        for (int c = 0; c < 512; c++)
        {
            double ours = y.Data.Skip(c * 49).Take(49).Average();
            Assert.True(Math.Abs(ours - pooled[c]) <= 1e-3 * Math.Max(1, Math.Abs(pooled[c])), $"channel {c}: {ours} vs {pooled[c]}");
        }
    }

    [Fact]
    public void ResNet18_InputGradient_MatchesFiniteDifferences_OnSampledPixels()
    {
        var b = BackboneFactory.ResNet18();
        var trunk = b.TrunkFor(new[] { b.Layer("layer2.1") });
        var inp = trunk.Graph.Input.Single();
        foreach (var (d, v) in new[] { (0, 1L), (2, 37L), (3, 45L) }) inp.Type.TensorType.Shape.Dim[d].DimValue = v;
        var image = FloatTensor.Of(GradCheck.Random(11, 3 * 37 * 45, 40f, 128f), 1, 3, 37, 45);
        var inputs = new Dictionary<string, FloatTensor> { ["image"] = image };
        // Single pixels: a 0.25 step on the 0–255 scale crosses some of the network's many ReLU/MaxPool kinks, and float32
        // forward noise is about 1e-3 of the largest gradient entry, so errors are measured against 5 % of that entry.
        GradCheck.Check(trunk, b.Layer("layer2.1").Tensor, inputs, new[] { "image" }, h: 0.25, tolerance: 0.1, maxCoords: 12, floorFraction: 5e-2);
        // Along a random direction the difference quotient converges linearly in h as fewer ReLU kinks are crossed (measured:
        // conv1 alone gives 16 %, 7.5 %, 2 %, 1 % at h = 1, 0.2, 0.05, 0.01); at h = 0.01 layer2.1 agrees to about 2 %.
        GradCheck.CheckDirectional(trunk, b.Layer("layer2.1").Tensor, inputs, "image", h: 0.01, tolerance: 4e-2);
    }

    [Fact]
    public void Vgg_FromAModelZooShapedFile_NamesLayersAndNormalisesInput()
    {
        using var dir = new TestImages.TempDir();
        var path = dir.File("vgg19-7.onnx");
        OnnxModels.Save(MiniModels.Vgg(), path);
        var b = BackboneFactory.Resolve("vgg19", dir.Path);
        Assert.StartsWith("vgg19", b.Name);
        Assert.Equal(new[] { "conv1_1", "relu1_1", "pool1", "conv2_1", "relu2_1", "pool2", "conv3_1", "relu3_1", "conv3_2", "relu3_2", "pool3" },
            b.Layers.Take(11).Select(l => l.Name).ToArray());
        Assert.Equal((8L, 8), (b.Layer("relu4_2").Channels, b.Layer("relu4_2").Stride));

        // Our trunk on 0–255 RGB equals the original model on ImageNet-normalised input.
        var img = FloatTensor.Of(GradCheck.Random(8, 3 * 224 * 224, 60f, 120f), 1, 3, 224, 224);
        var norm = (float[])img.Data.Clone();
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 224 * 224; i++)
                norm[c * 224 * 224 + i] = (norm[c * 224 * 224 + i] / 255f - Vgg.ImageNetMean[c]) / Vgg.ImageNetStd[c];
        var original = MiniModels.Vgg();
        GraphTransforms.ExposeOutputs(original, new[] { "relu3_2" });
        using var os = new OnnxSession(original);
        var expected = os.Run(new Dictionary<string, FloatTensor> { ["data"] = FloatTensor.Of(norm, 1, 3, 224, 224) }, new[] { "relu3_2" })["relu3_2"];
        using var ts = new OnnxSession(b.TrunkFor(new[] { b.Layer("relu3_2") }));
        var actual = ts.Run(new Dictionary<string, FloatTensor> { ["image"] = img }).Values.Single();
        Assert.Equal(expected.Shape, actual.Shape);
        for (int i = 0; i < expected.Data.Length; i += 97) Assert.Equal(expected.Data[i], actual.Data[i], 3);
    }

    [Fact]
    public void Vgg_AveragePooling_ReplacesMaxPool_AndStylises()
    {
        using var dir = new TestImages.TempDir();
        OnnxModels.Save(MiniModels.Vgg(), dir.File("vgg16-test.onnx"));
        var b = BackboneFactory.Resolve("vgg16", dir.Path, VggPooling.Average);
        Assert.DoesNotContain(b.Trunk.Graph.Node, n => n.OpType == "MaxPool");
        Assert.Contains(b.Trunk.Graph.Node, n => n.OpType == "AveragePool");
        var r = new StyleTransferEngine(b).Run(TestImages.Synthetic(64, 48, 1), new[] { TestImages.Synthetic(64, 64, 2) },
            new StyleTransferOptions { Size = 64, Iterations = 5, Tolerance = 0, StyleWeight = 1e4f });
        Assert.True(r.Final.Style < r.Initial.Style, $"{r.Initial.Style} -> {r.Final.Style}");
    }

    [Fact]
    public void MissingModel_AndNonOnnxFile_AreClearErrors()
    {
        using var dir = new TestImages.TempDir();
        var e = Assert.Throws<ModelException>(() => BackboneFactory.Resolve("vgg19", dir.Path));
        Assert.Contains("unknown model 'vgg19'", e.Message);
        File.WriteAllText(dir.File("junk.onnx"), "this is not a model");
        var e2 = Assert.Throws<ModelException>(() => BackboneFactory.Resolve(dir.File("junk.onnx")));
        Assert.Contains("is not an ONNX model", e2.Message);
        Assert.Throws<ModelException>(() => BackboneFactory.Resolve(dir.File("missing.onnx")));
    }

    [Fact]
    public void GenericCnn_ListsTensorLayers()
    {
        using var dir = new TestImages.TempDir();
        var m = MiniModels.Vgg();
        m.Graph.Node.RemoveAt(m.Graph.Node.IndexOf(m.Graph.Node.First(n => n.OpType == "MaxPool"))); // no longer VGG-shaped
        var relu = m.Graph.Node.First(n => n.OpType == "Relu");
        m.Graph.Node.First(n => n.Input.Contains("pool1")).Input[0] = relu.Output[0];
        OnnxModels.Save(m, dir.File("custom.onnx"));
        var b = BackboneFactory.Resolve(dir.File("custom.onnx"));
        Assert.Equal("custom", b.Name);
        Assert.Contains(b.Layers, l => l.Name == "relu2_1");
    }
}
