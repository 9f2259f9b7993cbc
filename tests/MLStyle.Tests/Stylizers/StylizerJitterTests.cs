using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Stylizers;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Stylizers;

/// <summary>The random shift between the styliser and the backbone in training (<see cref="StylizerTrainingOptions.Jitter"/>).</summary>
public class StylizerJitterTests
{
    static readonly Backbone ResNet = BackboneFactory.ResNet18();
    const int N = 2, S = 32, J = 4;

    [Fact]
    public void Jitter_is_on_by_default_changes_the_checkpoint_fingerprint_and_must_be_a_multiple_of_4()
    {
        var o = new StylizerTrainingOptions { CropSize = 128 };
        Assert.Equal(StylizerTrainingOptions.DefaultJitter, o.JitterPixels);
        Assert.Equal(128 + StylizerTrainingOptions.DefaultJitter, o.StylizerCropSize);
        Assert.Equal(128, (o with { Jitter = 0 }).StylizerCropSize);
        var spec = new StylizerTrainer(ResNet).Spec(o);
        Assert.NotEqual(o.Fingerprint(spec, "h"), (o with { Jitter = 0 }).Fingerprint(spec, "h"));
        foreach (var bad in new[] { -4, 3, 68 })
            Assert.Contains("invalid jitter", Assert.Throws<MLStyleException>(() => (o with { Jitter = bad }).Validate()).Message);
        (o with { Jitter = 8 }).Validate();
    }

    [Fact]
    public void The_selection_matrices_cut_the_window_at_a_random_offset_and_every_offset_occurs()
    {
        int si = S + J;
        var rows = new float[N * S * si];
        var cols = new float[N * si * S];
        var x = GradCheck.Random(3, si * si);
        var seen = new HashSet<(int, int)>();
        var rng = new Random(5);
        for (int draw = 0; draw < 200; draw++)
        {
            StylizerTrainer.SetShifts(rng, N, S, J, rows, cols);
            for (int b = 0; b < N; b++)
            {
                // rows·X·cols, and the offset that window has.
                var w = new float[S * S];
                for (int i = 0; i < S; i++)
                for (int j = 0; j < S; j++)
                {
                    double v = 0;
                    for (int p = 0; p < si; p++)
                    for (int q = 0; q < si; q++)
                        if (rows[b * S * si + i * si + p] != 0 && cols[b * si * S + q * S + j] != 0) v += rows[b * S * si + i * si + p] * x[p * si + q] * cols[b * si * S + q * S + j];
                    w[i * S + j] = (float)v;
                }
                int dy = Enumerable.Range(0, si).First(p => rows[b * S * si + p] == 1f);
                int dx = Enumerable.Range(0, si).First(q => cols[b * si * S + q * S] == 1f);
                Assert.InRange(dy, 0, J);
                Assert.InRange(dx, 0, J);
                for (int i = 0; i < S; i++)
                for (int j = 0; j < S; j++)
                    Assert.Equal(x[(i + dy) * si + j + dx], w[i * S + j]);
                seen.Add((dy, dx));
            }
        }
        Assert.Equal((J + 1) * (J + 1), seen.Count);
    }

    /// <summary>The jittered training graph of a tiny styliser, its inputs, and the names of its parameter inputs and gradient outputs.</summary>
    static (ModelProto Model, Dictionary<string, FloatTensor> Inputs, IReadOnlyList<string> Params, IReadOnlyList<string> Grads) Graph(
        ModelProto stylizer, int seed)
    {
        var spec = StyleObjectiveSpec.FromDefaults(ResNet, WeightedLayer.ParseList("layer1.1"), WeightedLayer.ParseList("conv1,layer1.1"),
            3f, null, 1f, null, 0);
        using var targets = new OnnxSession(StyleObjective.BuildTargetModel(spec));
        var grams = StyleTargets.Blended(targets, spec, new[] { TestImages.Synthetic(40, 40, 99) }, new[] { 1f }, 64);
        var model = StylizerTrainer.BuildTrainingModel(stylizer, spec, N, S,
            Enumerable.Range(0, spec.StyleLayers.Count).Select(i => grams[StyleObjective.StyleTarget(i)]).ToList(), out var pIn, out var gOut, J);
        int si = S + J;
        var batch = new float[N * 3 * si * si];
        var photos = TrainingPhotos.FromImages(Enumerable.Range(0, 3).Select(i => TestImages.Synthetic(56, 48, 20 + i)), si);
        var rng = new Random(seed);
        for (int b = 0; b < N; b++) photos.SampleCrop(rng, si, batch.AsSpan(b * 3 * si * si, 3 * si * si));
        var rows = new float[N * S * si];
        var cols = new float[N * si * S];
        StylizerTrainer.SetShifts(rng, N, S, J, rows, cols);
        var inputs = new Dictionary<string, FloatTensor>
        {
            [StylizerTrainer.ContentInput] = new(batch, new long[] { N, 3, si, si }),
            [StylizerTrainer.JitterRowsInput] = new(rows, new long[] { N, 1, S, si }),
            [StylizerTrainer.JitterColumnsInput] = new(cols, new long[] { N, 1, si, S }),
        };
        var parameters = FastStylizer.Parameters(stylizer);
        for (int i = 0; i < parameters.Count; i++) inputs[pIn[i]] = new(TensorProtos.ToFloats(parameters[i]), TensorProtos.Shape(parameters[i]));
        return (model, inputs, pIn, gOut);
    }

    [Fact]
    public void The_content_targets_are_cut_at_the_same_offset_as_the_stylised_image()
    {
        // With its last convolution zeroed, the input-skip network returns the photo (squeezed into the middle 99 %): the content loss of
        // the shifted output against the shifted photo is then (almost) zero at every offset, and far from zero otherwise.
        var stylizer = FastStylizerGradientTests.ZeroOutputLayer(FastStylizer.Create(new StylizerShape(Width: 4, ResidualBlocks: 1, SkipRange: 0.99f), seed: 2));
        var untrained = FastStylizer.Create(new StylizerShape(Width: 4, ResidualBlocks: 1), seed: 2);
        for (int seed = 0; seed < 3; seed++)
        {
            var (m, inputs, _, _) = Graph(stylizer, seed);
            using var s = new OnnxSession(m);
            float identity = s.Run(inputs, new[] { StyleObjective.ContentLoss })[StyleObjective.ContentLoss].Data[0];
            var (m2, inputs2, _, _) = Graph(untrained, seed);
            using var s2 = new OnnxSession(m2);
            float other = s2.Run(inputs2, new[] { StyleObjective.ContentLoss })[StyleObjective.ContentLoss].Data[0];
            Assert.True(identity < 1e-3f * other, $"content loss of the photo {identity:G4}, of an untrained network {other:G4}");
        }
    }

    [Fact]
    public void The_weight_gradient_through_the_shift_matches_finite_differences()
    {
        var stylizer = FastStylizer.Create(new StylizerShape(Width: 4, ResidualBlocks: 1), seed: 2);
        var (m, inputs, pIn, gOut) = Graph(stylizer, 1);
        using var s = new OnnxSession(m);
        foreach (var name in new[] { "conv_out.bias", "conv_out.weight", "up2.norm.scale" })
        {
            int k = pIn.Select((p, i) => (p, i)).First(t => t.p.EndsWith("/" + name)).i;
            var g = s.Run(inputs, new[] { gOut[k] })[gOut[k]].Data;
            var x = inputs[pIn[k]];
            var v = GradCheck.Random(7, x.Data.Length);
            double analytic = 0, norm = 0;
            for (int i = 0; i < v.Length; i++) { analytic += (double)g[i] * v[i]; norm += (double)g[i] * g[i]; }
            // A step that changes the loss by well above float rounding but stays local.
            double h = 1e-4;
            double Loss(double t)
            {
                var d = x.Data.Select((xv, i) => (float)(xv + t * v[i])).ToArray();
                return s.Run(new Dictionary<string, FloatTensor>(inputs) { [pIn[k]] = new(d, x.Shape) }, new[] { StyleObjective.Loss })[StyleObjective.Loss].Data[0];
            }
            double numeric = (Loss(h) - Loss(-h)) / (2 * h);
            double err = Math.Abs(numeric - analytic) / Math.Max(Math.Abs(numeric), Math.Abs(analytic));
            Assert.True(err < 3e-2, $"{name}: analytic {analytic:G6}, numeric {numeric:G6} (rel err {err:G3})");
        }
    }
}
