using System.Text.Json.Nodes;
using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Losses;

/// <summary>The style objective: defaults, serialisation, targets, and its loss graph on any image tensor (batches included).</summary>
public class StyleObjectiveTests
{
    static readonly Backbone ResNet = BackboneFactory.ResNet18();

    static StyleObjectiveSpec Small => new(ResNet, new[] { new WeightedLayer("layer1.0", 1f) },
        new[] { new WeightedLayer("conv1", 1f), new WeightedLayer("layer1.0", 0.5f) }, 2f, 1e3f, 1e-1f, ActivationSmoothing.None);

    static Dictionary<string, FloatTensor> Image(ImageTensor img) =>
        new() { [Backbone.InputName] = new FloatTensor(img.Data, new long[] { 1, 3, img.Height, img.Width }) };

    [Fact]
    public void Defaults_ComeFromTheObjective_PerKindOfBackbone()
    {
        var spec = StyleObjectiveSpec.FromDefaults(ResNet);
        Assert.Equal(StyleDefaults.For(ResNet).StyleLayers, spec.StyleLayers);
        Assert.Equal((200f, 1e4f, 1e-2f), (spec.ContentWeight, spec.StyleWeight, spec.TvWeight));
        var tiny = TinyNet.Backbone();
        var d = StyleDefaults.For(tiny);
        Assert.Equal(BackboneKind.Generic, tiny.Kind);
        Assert.All(d.ContentLayers.Concat(d.StyleLayers), l => tiny.Layer(l.Layer));
        Assert.Equal(1e3f, d.StyleWeight);
        Assert.Throws<ModelException>(() => StyleObjectiveSpec.FromDefaults(ResNet, style: new[] { new WeightedLayer("nope", 1f) }));
    }

    [Fact]
    public void WriteTo_IsTheOneSerialisation_AndTheKeyFollowsEveryField()
    {
        var json = Small.WriteTo(new JsonObject());
        Assert.Equal(new[] { "content_weight", "style_weight", "tv_weight", "content_layers", "style_layers", "smoothing", "input_blur" }, json.Select(p => p.Key));
        Assert.Equal("""[{"layer":"conv1","weight":1},{"layer":"layer1.0","weight":0.5}]""", json["style_layers"]!.ToJsonString());
        var keys = new[]
        {
            Small, Small with { TvWeight = 0.2f }, Small with { Smoothing = ActivationSmoothing.Softmax },
            Small with { StyleLayers = new[] { new WeightedLayer("conv1", 1f) } }, Small with { ContentWeight = 3f }, Small with { InputBlur = 5 },
        }.Select(s => s.Key).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.Equal(Small.Key, (Small with { }).Key);
    }

    [Fact]
    public void StyleTargets_SideAndBlend()
    {
        Assert.Equal(16, StyleTargets.StyleSide(20, 0.1f));
        Assert.Equal(205, StyleTargets.StyleSide(512, 0.4f));
        Assert.Equal(new[] { 0.5f, 0.5f }, StyleTargets.BlendWeights(null, 2));
        Assert.Equal(new[] { 0.75f, 0.25f }, StyleTargets.BlendWeights(new[] { 3f, 1f }, 2));
    }

    [Fact]
    public void AddLoss_OnAnyImageTensor_EqualsTheLossModel()
    {
        var spec = Small;
        var content = TestImages.Synthetic(40, 32, 1);
        var style = TestImages.Synthetic(32, 32, 2);
        var x = TestImages.Synthetic(40, 32, 3);
        using var targets = new OnnxSession(StyleObjective.BuildTargetModel(spec));
        var contentTargets = StyleTargets.Content(targets, spec, content);
        var grams = StyleTargets.Blended(targets, spec, new[] { style }, new[] { 1f }, 32);

        var lossModel = StyleObjective.BuildLossModel(spec, 40, 32, contentTargets.Values.Select(t => t.Shape).ToList());
        var inputs = Image(x);
        foreach (var (k, v) in contentTargets.Concat(grams)) inputs[k] = v;
        using var loss = new OnnxSession(lossModel);
        var expected = loss.Run(inputs, new[] { StyleObjective.Loss, StyleObjective.StyleLoss });

        var b = GraphBuilder.Create("embedded");
        var image = b.AddInput("picture", ElementType.Float, new long[] { 1, 3, 32, 40 });
        var ct = Enumerable.Range(0, spec.ContentLayers.Count).Select(i => b.Constant(contentTargets[StyleObjective.ContentTarget(i)].Data, contentTargets[StyleObjective.ContentTarget(i)].Shape)).ToList();
        var st = StyleObjective.AddStyleTargets(b, Enumerable.Range(0, spec.StyleLayers.Count).Select(i => grams[StyleObjective.StyleTarget(i)]).ToList());
        var terms = StyleObjective.AddLoss(b, spec, image, ct, st, new TrunkCopier(b), "objective/");
        b.AddOutput(terms.Loss);
        b.AddOutput(terms.Style);
        using var embedded = new OnnxSession(b.Model);
        var actual = embedded.Run(new Dictionary<string, FloatTensor> { ["picture"] = inputs[Backbone.InputName] });
        Assert.Equal(expected[StyleObjective.Loss].Data[0], actual[terms.Loss].Data[0], expected[StyleObjective.Loss].Data[0] * 1e-5f);
        Assert.Equal(expected[StyleObjective.StyleLoss].Data[0], actual[terms.Style].Data[0], expected[StyleObjective.StyleLoss].Data[0] * 1e-5f);
        Assert.True(actual[terms.Style].Data[0] > 0);
    }

    /// <summary>
    /// A feed-forward use: a 1×1 convolution (weights <c>w</c>, a graph input) maps a batch of two images; the loss of its output
    /// is the mean of the per-image losses, and its gradient reaches <c>w</c> (checked against a central difference).
    /// </summary>
    [Fact]
    public void AddLoss_OnABatchFromAnotherNetwork_IsThePerImageMean_AndDifferentiatesToItsWeights()
    {
        var spec = Small with { ContentLayers = new[] { new WeightedLayer("conv1", 1f) }, StyleLayers = new[] { new WeightedLayer("conv1", 1f) } };
        var style = TestImages.Synthetic(24, 24, 2);
        using var targets = new OnnxSession(StyleObjective.BuildTargetModel(spec));
        var gram = StyleTargets.Blended(targets, spec, new[] { style }, new[] { 1f }, 24)[StyleObjective.StyleTarget(0)];

        ModelProtoWithLoss Build(int batch)
        {
            var b = GraphBuilder.Create("styliser");
            var x = b.AddInput("x", ElementType.Float, new long[] { batch, 3, 24, 24 });
            var w = b.AddInput("w", ElementType.Float, new long[] { 3, 3, 1, 1 });
            var y = b.Node("Conv", new[] { x, w }, "stylised", ("kernel_shape", new long[] { 1, 1 }));
            var trunks = new TrunkCopier(b);
            var ct = StyleObjective.AddContentTargets(b, spec, x, trunks, "content/");
            var loss = StyleObjective.AddLoss(b, spec, y, ct, StyleObjective.AddStyleTargets(b, new[] { gram }), trunks, "loss/").Loss;
            b.AddOutput(loss);
            return new ModelProtoWithLoss(b.Model, loss);
        }

        var images = new[] { TestImages.Synthetic(24, 24, 5), TestImages.Synthetic(24, 24, 6) };
        var w0 = new float[] { 0.9f, 0.1f, 0f, 0.05f, 1.1f, 0f, 0f, -0.1f, 0.8f };
        var wt = new FloatTensor(w0, new long[] { 3, 3, 1, 1 });
        var one = Build(1);
        using var single = new OnnxSession(one.Model);
        var each = images.Select(i => single.Run(new Dictionary<string, FloatTensor> { ["x"] = Image(i)[Backbone.InputName], ["w"] = wt })[one.Loss].Data[0]).ToList();

        var two = Build(2);
        var batch = new FloatTensor(images.SelectMany(i => i.Data).ToArray(), new long[] { 2, 3, 24, 24 });
        using var batched = new OnnxSession(two.Model);
        var mean = batched.Run(new Dictionary<string, FloatTensor> { ["x"] = batch, ["w"] = wt })[two.Loss].Data[0];
        Assert.NotEqual(each[0], each[1]);
        Assert.Equal((each[0] + each[1]) / 2, mean, mean * 1e-4f);

        GradCheck.CheckDirectional(two.Model, two.Loss, new Dictionary<string, FloatTensor> { ["x"] = batch, ["w"] = wt }, "w", h: 1e-3, tolerance: 2e-2);
    }

    sealed record ModelProtoWithLoss(global::Onnx.ModelProto Model, string Loss);
}
