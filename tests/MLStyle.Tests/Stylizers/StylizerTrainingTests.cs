using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;
using MLStyle.Stylizers;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Stylizers;

/// <summary>Training a tiny styliser on generated photos with the embedded ResNet18 at small sizes.</summary>
public class StylizerTrainingTests
{
    static readonly Backbone ResNet = BackboneFactory.ResNet18();
    static readonly SessionSettings OneThread = new() { Threads = 1 };

    static TrainingPhotos Photos() => TrainingPhotos.FromImages(Enumerable.Range(0, 4).Select(i => TestImages.Synthetic(56, 48, 20 + i)), 32);

    static ImageTensor Style() => TestImages.Synthetic(40, 40, 99);

    static StylizerTrainingOptions Options(int iterations, int seed = 1) => new()
    {
        CropSize = 32, BatchSize = 2, Iterations = iterations, Seed = seed, LearningRate = 1e-2f,
        Shape = new StylizerShape(Width: 4, ResidualBlocks: 1),
        ContentLayers = WeightedLayer.ParseList("layer1.1"), StyleLayers = WeightedLayer.ParseList("conv1,layer1.1"),
    };

    [Fact]
    public void A_few_dozen_iterations_lower_the_loss()
    {
        var r = new StylizerTrainer(ResNet, OneThread).Train(Photos(), Style(), Options(36));
        Assert.False(r.Diverged);
        Assert.Equal(36, r.History.Count);
        double first = r.History.Take(6).Average(h => h.Loss), last = r.History.TakeLast(6).Average(h => h.Loss);
        Assert.True(last < 0.8 * first, $"mean loss of the first 6 iterations {first:G4}, of the last 6 {last:G4}");
        Assert.All(r.History, h => Assert.True(float.IsFinite(h.Loss) && h.Loss >= h.Style));
        // The trained network stylises any size.
        using var s = new StylizerSession(r.Model, OneThread);
        var y = s.Apply(TestImages.Synthetic(37, 29, 5));
        Assert.Equal((37, 29), (y.Width, y.Height));
    }

    [Fact]
    public void Training_blurs_the_backbone_input_by_default_and_the_blur_can_be_turned_off()
    {
        var trainer = new StylizerTrainer(ResNet, OneThread);
        Assert.Equal(StylizerTrainingOptions.DefaultInputBlur, trainer.Spec(Options(1)).InputBlur);
        Assert.Equal(0, trainer.Spec(Options(1) with { InputBlur = 0 }).InputBlur);
        // ResNet18's training weights and style layers unless told.
        var spec = trainer.Spec(new StylizerTrainingOptions());
        Assert.Equal(StylizerTrainingOptions.ResNet18ContentWeight, spec.ContentWeight);
        Assert.Equal(StylizerTrainingOptions.ResNet18StyleLayers, spec.StyleLayers);
        Assert.Equal(7f, trainer.Spec(new StylizerTrainingOptions { ContentWeight = 7f }).ContentWeight);
        // The blur changes the objective, so a checkpoint of one cannot resume the other.
        Assert.NotEqual(Options(1).Fingerprint(trainer.Spec(Options(1)), "h"),
            Options(1).Fingerprint(trainer.Spec(Options(1) with { InputBlur = 0 }), "h"));
    }

    [Fact]
    public void The_same_seed_reproduces_the_run_and_another_seed_does_not()
    {
        var trainer = new StylizerTrainer(ResNet, OneThread);
        var a = trainer.Train(Photos(), Style(), Options(4, seed: 7));
        var b = trainer.Train(Photos(), Style(), Options(4, seed: 7));
        var c = trainer.Train(Photos(), Style(), Options(4, seed: 8));
        Assert.Equal(a.History.Select(h => h.Loss), b.History.Select(h => h.Loss));
        Assert.Equal(Weights(a), Weights(b));
        Assert.NotEqual(a.History.Select(h => h.Loss), c.History.Select(h => h.Loss));
    }

    static float[] Weights(StylizerTrainingResult r) => FastStylizer.Parameters(r.Model).SelectMany(MLStyle.Onnx.TensorProtos.ToFloats).ToArray();

    [Fact]
    public void A_resumed_run_continues_the_same_loss_curve()
    {
        var checkpoints = new List<TrainingCheckpoint>();
        var trainer = new StylizerTrainer(ResNet, OneThread) { CheckpointEvery = 3, Checkpoint = (c, _) => checkpoints.Add(c) };
        var full = trainer.Train(Photos(), Style(), Options(8));
        Assert.Equal(new[] { 3, 6 }, checkpoints.Select(c => c.Adam.Iteration));

        using var dir = new TestImages.TempDir();
        checkpoints[0].Save(dir.File("run.ckpt"));
        var loaded = TrainingCheckpoint.Load(dir.File("run.ckpt"));
        var resumed = new StylizerTrainer(ResNet, OneThread).Train(Photos(), Style(), Options(8), loaded);
        Assert.Equal(full.History.Select(h => (h.Iteration, h.Loss)), resumed.History.Select(h => (h.Iteration, h.Loss)));
        Assert.Equal(Weights(full), Weights(resumed));

        // Other settings: refused with a clear message.
        var e = Assert.Throws<MLStyleException>(() => new StylizerTrainer(ResNet, OneThread).Train(Photos(), Style(), Options(8, seed: 2), loaded));
        Assert.Contains("other settings", e.Message);
    }

    [Fact]
    public void A_loss_that_becomes_infinite_stops_training_with_the_last_good_weights()
    {
        // A learning rate this large sends the weights, then the loss, to Inf/NaN within a few steps.
        var o = Options(20) with { LearningRate = 1e30f };
        var r = new StylizerTrainer(ResNet, OneThread).Train(Photos(), Style(), o);
        Assert.True(r.Diverged);
        Assert.Contains("kept the last good weights", r.StopReason);
        Assert.All(Weights(r), v => Assert.True(float.IsFinite(v)));
        Assert.Equal(r.Iterations, r.History.Count);
    }

    /// <summary>The synthetic style and, far from it, saturated red and blue diagonal stripes.</summary>
    static ImageTensor[] TwoStyles()
    {
        var stripes = new ImageTensor(40, 40);
        for (int y = 0; y < 40; y++)
            for (int x = 0; x < 40; x++)
            {
                bool red = (x + y) / 4 % 2 == 0;
                stripes.Channel(0)[y * 40 + x] = red ? 230f : 20f;
                stripes.Channel(1)[y * 40 + x] = 30f;
                stripes.Channel(2)[y * 40 + x] = red ? 20f : 230f;
            }
        return new[] { Style(), stripes };
    }

    [Fact]
    public void A_few_dozen_iterations_of_a_two_style_network_lower_both_styles_losses()
    {
        var r = new StylizerTrainer(ResNet, OneThread).Train(Photos(), TwoStyles(), Options(80));
        Assert.False(r.Diverged);
        Assert.Equal(2, FastStylizer.StyleCount(r.Model));
        for (int k = 0; k < 2; k++)
        {
            var mine = r.History.Where(h => StylizerTrainer.StyleOf(1, h.Iteration - 1, 2) == k).ToList();
            Assert.Equal(40, mine.Count); // rounds of two: each style every other step on average
            double first = mine.Take(6).Average(h => h.Style), last = mine.TakeLast(6).Average(h => h.Style);
            Assert.True(last < 0.8 * first, string.Join(" ", mine.Select(h => h.Style.ToString("G3"))) + $" style {k}: mean style loss of its first 6 iterations {first:G4}, of its last 6 {last:G4}");
        }
        // The two styles' tables have moved apart: one-hot weights give different pictures.
        using var s = new StylizerSession(r.Model, OneThread);
        var photo = TestImages.Synthetic(32, 32, 5);
        Assert.NotEqual(s.Apply(photo, new[] { 1f, 0f }).Data, s.Apply(photo, new[] { 0f, 1f }).Data);
    }

    [Fact]
    public void The_style_of_each_iteration_depends_only_on_the_seed_and_the_iteration_and_every_round_has_each_style_once()
    {
        for (int round = 0; round < 20; round++)
            Assert.Equal(new[] { 0, 1, 2 }, Enumerable.Range(3 * round, 3).Select(i => StylizerTrainer.StyleOf(5, i, 3)).Order());
        var a = Enumerable.Range(0, 60).Select(i => StylizerTrainer.StyleOf(5, i, 3)).ToList();
        Assert.Equal(a, Enumerable.Range(0, 60).Select(i => StylizerTrainer.StyleOf(5, i, 3)));
        Assert.NotEqual(a, Enumerable.Range(0, 60).Select(i => StylizerTrainer.StyleOf(6, i, 3)));
        // The order within a round is drawn, not fixed.
        Assert.True(Enumerable.Range(0, 20).Select(r => string.Join(",", a.Skip(3 * r).Take(3))).Distinct().Count() > 1);
        Assert.All(Enumerable.Range(0, 10), i => Assert.Equal(0, StylizerTrainer.StyleOf(5, i, 1)));
    }

    [Fact]
    public void A_resumed_two_style_run_continues_the_same_loss_curve_and_other_styles_are_refused()
    {
        var checkpoints = new List<TrainingCheckpoint>();
        var trainer = new StylizerTrainer(ResNet, OneThread) { CheckpointEvery = 3, Checkpoint = (c, _) => checkpoints.Add(c) };
        var full = trainer.Train(Photos(), TwoStyles(), Options(7));
        var resumed = new StylizerTrainer(ResNet, OneThread).Train(Photos(), TwoStyles(), Options(7), checkpoints[0]);
        Assert.Equal(full.History.Select(h => (h.Iteration, h.Loss)), resumed.History.Select(h => (h.Iteration, h.Loss)));
        Assert.Equal(Weights(full), Weights(resumed));
        // The styles (and their order) are part of the settings; so is their number.
        var swapped = TwoStyles().Reverse().ToArray();
        Assert.Contains("other settings", Assert.Throws<MLStyleException>(() => new StylizerTrainer(ResNet, OneThread).Train(Photos(), swapped, Options(7), checkpoints[0])).Message);
        Assert.Contains("other settings", Assert.Throws<MLStyleException>(() => new StylizerTrainer(ResNet, OneThread).Train(Photos(), Style(), Options(7), checkpoints[0])).Message);
    }

    [Fact]
    public void Too_few_photos_are_refused()
    {
        var e = Assert.Throws<MLStyleException>(() => TrainingPhotos.FromImages(new[] { Style(), Style() }, 32));
        Assert.Contains("at least 3", e.Message);
    }
}
