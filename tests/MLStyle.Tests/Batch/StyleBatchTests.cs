#nullable enable
using MLStyle.Backbones;
using MLStyle.Batch;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Batch;

/// <summary>Batches of real style transfers on the ResNet18 trunk cut after conv1, on tiny images.</summary>
public sealed class StyleBatchTests : IDisposable
{
    readonly TempDir _dir = new();
    string In => Path.Combine(_dir.Path, "in");
    string Out => Path.Combine(_dir.Path, "out");

    public void Dispose() => _dir.Dispose();

    static readonly StyleTransferOptions Tiny = new()
    {
        Size = 32, Iterations = 2, Tolerance = 0,
        ContentLayers = [new WeightedLayer("conv1", 1)], StyleLayers = [new WeightedLayer("conv1", 1)],
    };

    StyleTransferJob Job(StyleTransferOptions? options = null)
    {
        var style = Corpus.Write(_dir.Path, "style.png", Corpus.Photo(32, 32, 99));
        return new StyleTransferJob(BackboneFactory.ResNet18(), [ImageIO.Load(style)], [ContentHash.OfFile(style)], options ?? Tiny);
    }

    [Fact]
    public void ResumeAfterACancelledRunRedoesNothingThatWasFinished()
    {
        for (int i = 0; i < 5; i++) Corpus.Write(In, $"{(i < 3 ? "" : "sub/")}p{i}.jpg", Corpus.Photo(40, 30, i, SkiaSharp.SKEncodedImageFormat.Jpeg));
        var items = BatchInputs.Discover(In, Out);
        var job = Job();

        using var cts = new CancellationTokenSource();
        var runner = new BatchRunner(job, Out, new BatchOptions { Session = new SessionSettings { Threads = 1 } });
        runner.ItemCompleted += o => { if (o.Item.RelativePath == "p1.jpg") cts.Cancel(); }; // killed after two images
        var first = runner.Run(items, cts.Token);
        Assert.True(first.Cancelled);
        Assert.Equal(2, first.Done);
        var firstTimes = items.Take(2).Select(i => File.GetLastWriteTimeUtc(i.OutputPath)).ToList();
        Assert.All(items.Skip(2), i => Assert.False(File.Exists(i.OutputPath)));

        var second = new BatchRunner(job, Out, new BatchOptions { Workers = 2, Session = new SessionSettings { Threads = 2 } }).Run(items);
        Assert.Equal((2, 3, 0), (second.Skipped, second.Done, second.Failed));
        Assert.Equal(firstTimes, items.Take(2).Select(i => File.GetLastWriteTimeUtc(i.OutputPath)));
        foreach (var item in items)
        {
            var img = ImageIO.Load(item.OutputPath);
            Assert.Equal((32, 24), (img.Width, img.Height));
        }
        var manifest = BatchManifest.Read(Path.Combine(Out, BatchManifest.FileName));
        Assert.Equal(2 + 5, manifest.Count);
        var ok = manifest.First(m => m.Status == ManifestStatus.Ok);
        Assert.Equal(BackboneFactory.ResNet18().Hash, ok.ModelHash);
        Assert.Equal(2, ok.Iterations);
        Assert.True(ok.Losses!["style"] > 0);
        Assert.Equal(32, ok.Options!["scales"]![0]!.GetValue<int>());

        // Other options: everything is redone.
        var third = new BatchRunner(Job(Tiny with { Iterations = 1 }), Out).Run(items);
        Assert.Equal((0, 5), (third.Skipped, third.Done));
    }

    [Fact]
    public void CachedSessionsGiveTheSameImagesAsFreshOnes()
    {
        var style = ImageIO.Load(Corpus.Write(_dir.Path, "style.png", Corpus.Photo(32, 32, 99)));
        var a = ImageIO.Load(Corpus.Write(_dir.Path, "a.png", Corpus.Photo(40, 30, 1)));
        var b = ImageIO.Load(Corpus.Write(_dir.Path, "b.png", Corpus.Photo(40, 30, 2)));
        var c = ImageIO.Load(Corpus.Write(_dir.Path, "c.png", Corpus.Photo(30, 40, 3)));
        var settings = new SessionSettings { Threads = 1 };
        var fresh = new StyleTransferEngine(BackboneFactory.ResNet18(), settings);
        using var cache = new StyleTransferCache();
        var cached = new StyleTransferEngine(BackboneFactory.ResNet18(), settings) { Cache = cache };
        foreach (var img in new[] { a, b, c, a })
        {
            var expected = fresh.Run(img, [style], Tiny).Image;
            var actual = cached.Run(img, [style], Tiny).Image;
            Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
            for (int i = 0; i < expected.Data.Length; i++) Assert.Equal(expected.Data[i], actual.Data[i], 0.01f);
        }
        Assert.Equal(3, cache.LossSessionsBuilt); // a and b share one; c (portrait) and a again need new ones
    }

    [Fact]
    public void JobsRefuseBadOptionsBeforeAnyImage()
    {
        var style = ImageIO.Load(Corpus.Write(_dir.Path, "style.png", Corpus.Photo(32, 32, 99)));
        var resnet = BackboneFactory.ResNet18();
        Assert.Contains("no layer 'layer9'", Assert.Throws<ModelException>(() =>
            new StyleTransferJob(resnet, [style], ["x"], Tiny with { StyleLayers = [new WeightedLayer("layer9", 1)] })).Message);
        Assert.Contains("2 weights for 1 style", Assert.Throws<MLStyleException>(() =>
            new StyleTransferJob(resnet, [style], ["x"], Tiny with { StyleBlend = [1f, 2f] })).Message);
        Assert.Contains("not available in batches", Assert.Throws<MLStyleException>(() =>
            new DeepDreamJob(resnet, new DeepDreamOptions { Frames = 2, FramesDirectory = _dir.Path })).Message);
        Assert.Contains("no layer 'nope'", Assert.Throws<ModelException>(() =>
            new DeepDreamJob(resnet, new DeepDreamOptions { Layers = [new WeightedLayer("nope", 1)] })).Message);
        // The options hash follows the options (and only them).
        var a = new BatchRunner(Job(), Out).OptionsHash;
        Assert.Equal(a, new BatchRunner(Job(), Out).OptionsHash);
        Assert.NotEqual(a, new BatchRunner(Job(Tiny with { Seed = 1 }), Out).OptionsHash);
        Assert.NotEqual(a, new BatchRunner(Job(), Out, new BatchOptions { Format = "jpg" }).OptionsHash);
    }

    [Fact]
    public void DivergingImageFailsWithoutStoppingTheBatch()
    {
        Corpus.Write(In, "a.png", Corpus.Photo(32, 32, 1));
        Corpus.Write(In, "b.png", Corpus.Photo(32, 32, 2));
        var s = new BatchRunner(Job(Tiny with { Optimizer = "adam", LearningRate = 1e30f, Iterations = 4 }), Out).Run(BatchInputs.Discover(In, Out));
        Assert.Equal(2, s.Failed);
        Assert.All(s.Outcomes, o => Assert.Contains("diverged", o.Entry.Error));
        Assert.All(s.Outcomes, o => Assert.True(File.Exists(o.Item.OutputPath))); // the last good image
    }
}
