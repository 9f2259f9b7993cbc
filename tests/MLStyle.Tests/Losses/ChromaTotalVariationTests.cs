using System.Text.Json.Nodes;
using MLStyle.Backbones;
using MLStyle.Cli.Commands;
using MLStyle.Engines;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Losses;

/// <summary>The chroma total variation of the style objective (<see cref="StyleObjectiveSpec.ChromaTvWeight"/>), against colour hatching.</summary>
public class ChromaTotalVariationTests
{
    const int H = 6, W = 7;
    static readonly long[] Shape = { 2, 3, H, W };

    static float Evaluate(Func<GraphBuilder, string, string> term, float[] image)
    {
        var m = GradCheck.Build(b => term(b, b.AddInput("X", ElementType.Float, Shape)));
        using var s = new OnnxSession(m);
        return s.Run(new Dictionary<string, FloatTensor> { ["X"] = FloatTensor.Of(image, Shape) })[m.Graph.Output[0].Name].Data[0];
    }

    /// <summary>Two images: value = base + a·pattern(x, y) per channel with the given channel gains.</summary>
    static float[] Image(Func<int, int, float> pattern, float gr, float gg, float gb, float a = 10f)
    {
        var x = new float[2 * 3 * H * W];
        var gains = new[] { gr, gg, gb };
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < H; y++)
                    for (int i = 0; i < W; i++) x[((n * 3 + c) * H + y) * W + i] = 100 + 20 * c + a * gains[c] * pattern(i, y);
        return x;
    }

    [Fact]
    public void A_grey_pattern_costs_nothing_and_a_colour_pattern_costs_its_chroma_differences()
    {
        // An alternating column pattern, the same in R, G and B: plain TV sees it, chroma TV (B − Y, R − Y) does not.
        Func<int, int, float> columns = (i, _) => i % 2;
        var grey = Image(columns, 1, 1, 1);
        Assert.True(Evaluate(StyleLosses.TotalVariation, grey) > 0);
        Assert.Equal(0f, Evaluate(StyleLosses.ChromaTotalVariation, grey), 6);

        // R up, G down: Y changes by 10·(0.299 − 0.587) per step, B − Y by −that, R − Y by 10 − that. Per image: H·(W − 1) steps,
        // divided by H·W (TotalVariation's mean over pixels), in units of 1/255; both images summed.
        var colour = Image(columns, 1, -1, 0);
        double dy = 10 * (0.299 - 0.587), du = -dy, dv = 10 - dy;
        double expected = 2 * (du * du + dv * dv) * H * (W - 1) / (255.0 * 255.0) / (H * W);
        Assert.Equal(expected, Evaluate(StyleLosses.ChromaTotalVariation, colour), 4);
    }

    [Fact]
    public void Gradient_MatchesFiniteDifferences()
    {
        var m = GradCheck.Build(b => StyleLosses.ChromaTotalVariation(b, b.AddInput("X", ElementType.Float, Shape)));
        GradCheck.Check(m, m.Graph.Output[0].Name, new Dictionary<string, FloatTensor> { ["X"] = GradCheck.Tensor(1, Shape, 40f, 128f) }, new[] { "X" }, h: 0.5);
    }

    [Fact]
    public void The_objective_adds_it_to_the_tv_term_and_keys_stay_unchanged_without_it()
    {
        var resnet = BackboneFactory.ResNet18();
        var spec = StyleObjectiveSpec.FromDefaults(resnet, WeightedLayer.ParseList("conv1"), WeightedLayer.ParseList("conv1"), 1f, 1f, 2f, inputBlur: 0);
        var withChroma = spec with { ChromaTvWeight = 3f };
        Assert.DoesNotContain("chroma_tv_weight", spec.WriteTo(new JsonObject()).Select(p => p.Key));
        Assert.Equal(3f, withChroma.WriteTo(new JsonObject())["chroma_tv_weight"]!.GetValue<float>());
        Assert.NotEqual(spec.Key, withChroma.Key);
        Assert.Throws<MLStyleException>(() => (spec with { ChromaTvWeight = -1f }).Validate());

        var image = TestImages.Synthetic(32, 32, 4);
        var data = new Dictionary<string, FloatTensor> { [Backbone.InputName] = new(image.Data, new long[] { 1, 3, 32, 32 }) };
        float Tv(StyleObjectiveSpec s)
        {
            using var targets = new OnnxSession(StyleObjective.BuildTargetModel(s));
            var t = targets.Run(data, new[] { StyleObjective.ContentTarget(0), StyleObjective.StyleTarget(0) });
            using var loss = new OnnxSession(StyleObjective.BuildLossModel(s, 32, 32, new[] { t[StyleObjective.ContentTarget(0)].Shape }));
            var inputs = new Dictionary<string, FloatTensor>(data)
            {
                [StyleObjective.ContentTarget(0)] = t[StyleObjective.ContentTarget(0)], [StyleObjective.StyleTarget(0)] = t[StyleObjective.StyleTarget(0)],
            };
            return loss.Run(inputs, new[] { StyleObjective.TvLoss })[StyleObjective.TvLoss].Data[0];
        }
        var x = image.Data;
        float plain = Tv(spec), both = Tv(withChroma);
        var m = GradCheck.Build(b => StyleLosses.ChromaTotalVariation(b, b.AddInput("I", ElementType.Float, new long[] { 1, 3, 32, 32 })));
        using var cs = new OnnxSession(m);
        float c = cs.Run(new Dictionary<string, FloatTensor> { ["I"] = new(x, new long[] { 1, 3, 32, 32 }) })[m.Graph.Output[0].Name].Data[0];
        Assert.True(c > 0);
        Assert.Equal(plain + 3f * c, both, 3);
    }

    [Fact]
    public void Training_option_reaches_the_objective_the_fingerprint_and_the_command_line()
    {
        var trainer = new StylizerTrainer(BackboneFactory.ResNet18());
        var o = new StylizerTrainingOptions();
        Assert.Equal(StylizerTrainingOptions.DefaultChromaTvWeight, trainer.Spec(o).ChromaTvWeight);
        var on = o with { ChromaTvWeight = 2000f };
        Assert.Equal(2000f, trainer.Spec(on).ChromaTvWeight);
        Assert.NotEqual(o.Fingerprint(trainer.Spec(o), "h"), on.Fingerprint(trainer.Spec(on), "h"));
        Assert.Contains("invalid chroma tv weight", Assert.Throws<MLStyleException>(() => (o with { ChromaTvWeight = -1f }).Validate()).Message);
        Assert.Equal(2000f, new TrainCommand.Settings { ChromaTvWeight = "2000" }.Options().ChromaTvWeight);
        Assert.Null(new TrainCommand.Settings().Options().ChromaTvWeight);
    }
}
