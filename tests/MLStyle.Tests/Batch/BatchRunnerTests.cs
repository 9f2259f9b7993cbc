#nullable enable
using System.Text.Json.Nodes;
using MLStyle.Batch;
using MLStyle.Imaging;
using MLStyle.Runtime;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Batch;

/// <summary>A cheap job without a model: inverts the image; can fail, diverge or block on chosen inputs.</summary>
sealed class InvertJob : IImageJob
{
    public int Runs;
    public int WorkersCreated;
    public float Gain { get; init; } = 1;
    public Action<ImageTensor, CancellationToken>? OnRun { get; init; }
    public Func<ImageTensor, bool>? Diverges { get; init; }

    public string Kind => "invert";
    public JsonObject Options => new() { ["gain"] = Gain };
    public int Seed => 0;
    public string ModelName => "none";
    public string ModelHash => "0000";

    public IImageJobWorker CreateWorker(SessionSettings settings)
    {
        Interlocked.Increment(ref WorkersCreated);
        return new Worker(this);
    }

    sealed class Worker(InvertJob job) : IImageJobWorker
    {
        public ImageJobResult Run(ImageTensor input, IProgress<double>? progress, CancellationToken cancel)
        {
            Interlocked.Increment(ref job.Runs);
            job.OnRun?.Invoke(input, cancel);
            progress?.Report(0.5);
            var output = input.Clone();
            for (int i = 0; i < output.Data.Length; i++) output.Data[i] = Math.Clamp(255 - job.Gain * output.Data[i], 0, 255);
            double mean = output.Data.Average();
            var curve = new List<double> { 2 * mean, 1.5 * mean, mean };
            return new ImageJobResult(output, new Dictionary<string, double> { ["total"] = mean }, new Dictionary<string, IReadOnlyList<double>> { ["total"] = curve },
                3, TimeSpan.FromMilliseconds(1), 0, job.Diverges?.Invoke(input) ?? false, "iterations");
        }

        public void Dispose() { }
    }
}

public sealed class BatchRunnerTests : IDisposable
{
    readonly TempDir _dir = new();
    string In => Path.Combine(_dir.Path, "in");
    string Out => Path.Combine(_dir.Path, "out");

    public void Dispose() => _dir.Dispose();

    void Images(int count, int bad = 0)
    {
        for (int i = 0; i < count; i++) Corpus.Write(In, $"{(i % 2 == 0 ? "" : "sub/")}img{i:D2}.png", Corpus.Photo(12, 8, i));
        for (int i = 0; i < bad; i++) Corpus.Write(In, $"sub/broken{i}.jpg", i % 2 == 0 ? [] : "text"u8.ToArray());
    }

    BatchSummary Run(IImageJob job, BatchOptions? options = null, CancellationToken cancel = default) =>
        new BatchRunner(job, Out, options).Run(BatchInputs.Discover(In, Out), cancel);

    [Fact]
    public void WritesEveryGoodImageRecordsEveryBadOneAndGoesOn()
    {
        Images(6, bad: 2);
        var job = new InvertJob();
        var s = Run(job);
        Assert.Equal((8, 6, 0, 2), (s.Total, s.Done, s.Skipped, s.Failed));
        Assert.Equal(6, job.Runs);
        var src = ImageIO.Load(Path.Combine(In, "img00.png"));
        var dst = ImageIO.Load(Path.Combine(Out, "img00.png"));
        Assert.Equal(255 - src.Data[5], dst.Data[5], 0.01);
        Assert.True(File.Exists(Path.Combine(Out, "sub", "img01.png")));
        var lines = BatchManifest.Read(Path.Combine(Out, BatchManifest.FileName));
        Assert.Equal(8, lines.Count);
        var failed = lines.Where(l => l.Status == ManifestStatus.Failed).OrderBy(l => l.Input).ToList();
        Assert.Equal(["sub/broken0.jpg", "sub/broken1.jpg"], failed.Select(l => l.Input));
        Assert.Contains("empty", failed[0].Error);
        Assert.Contains("not an image", failed[1].Error);
        var ok = lines.First(l => l.Input == "img00.png");
        Assert.Equal(ContentHash.OfFile(Path.Combine(In, "img00.png")), ok.InputSha256);
        Assert.Equal("img00.png", ok.Output);
        Assert.Equal(1.0, ok.Options!["gain"]!.GetValue<double>());
        Assert.Equal("0000", ok.ModelHash);
        Assert.NotNull(ok.Losses);
        Assert.True(ok.PeakMemoryBytes > 0);
    }

    [Fact]
    public void RerunSkipsFinishedImagesAndRedoesChangedOnes()
    {
        Images(5, bad: 1);
        Run(new InvertJob());
        var again = new InvertJob();
        var s = Run(again);
        Assert.Equal((5, 0, 1), (s.Skipped, s.Done, s.Failed)); // the failed one is tried again (and fails again)
        Assert.Equal(0, again.Runs);

        // A changed input, a deleted output and changed options are redone.
        Corpus.Write(In, "img00.png", Corpus.Photo(12, 8, 100));
        File.Delete(Path.Combine(Out, "sub", "img01.png"));
        var third = new InvertJob();
        s = Run(third);
        Assert.Equal((3, 2), (s.Skipped, s.Done));
        Assert.Equal(2, third.Runs);
        var changed = new InvertJob { Gain = 0.5f };
        s = Run(changed);
        Assert.Equal((0, 5), (s.Skipped, s.Done));
        // --force: no resume.
        s = Run(new InvertJob { Gain = 0.5f }, new BatchOptions { Resume = false });
        Assert.Equal((0, 5), (s.Skipped, s.Done));
    }

    [Fact]
    public void DivergedImageIsFailedButKeepsItsLastGoodImage()
    {
        Images(3);
        var s = Run(new InvertJob { Diverges = img => img.Width == 12 && img.Data[0] == ImageIO.Load(Path.Combine(In, "img00.png")).Data[0] });
        var entry = s.Outcomes.Single(o => o.Item.RelativePath == "img00.png").Entry;
        Assert.Equal(ManifestStatus.Failed, entry.Status);
        Assert.Contains("diverged", entry.Error);
        Assert.True(File.Exists(Path.Combine(Out, "img00.png")));
        Assert.Equal(2, s.Done);
    }

    [Fact]
    public void CancellationAbandonsImagesInFlightWithoutTracesAndAResumeFinishesTheRest()
    {
        Images(8);
        using var cts = new CancellationTokenSource();
        int started = 0;
        var job = new InvertJob
        {
            OnRun = (_, cancel) =>
            {
                if (Interlocked.Increment(ref started) == 4)
                {
                    cts.Cancel(); // the "kill" arrives while the 4th image is being processed
                    cancel.ThrowIfCancellationRequested();
                }
            },
        };
        var first = Run(job, new BatchOptions { Workers = 1 }, cts.Token);
        Assert.True(first.Cancelled);
        Assert.Equal((3, 1, 4), (first.Done, first.Abandoned, first.NotStarted));
        Assert.Equal(3, BatchManifest.Read(Path.Combine(Out, BatchManifest.FileName)).Count);
        Assert.Empty(Directory.EnumerateFiles(Out, "*.tmp-*", SearchOption.AllDirectories));
        Assert.Equal(3, Directory.EnumerateFiles(Out, "*.png", SearchOption.AllDirectories).Count());

        var second = new InvertJob();
        var s = Run(second, new BatchOptions { Workers = 2 });
        Assert.False(s.Cancelled);
        Assert.Equal((3, 5, 0), (s.Skipped, s.Done, s.Failed));
        Assert.Equal(5, second.Runs);
        Assert.Equal(8, Directory.EnumerateFiles(Out, "*.png", SearchOption.AllDirectories).Count());
    }

    [Fact]
    public void HalfWrittenManifestLineAndStaleTemporaryFilesFromAKillAreHandled()
    {
        Images(3);
        Run(new InvertJob());
        var manifest = Path.Combine(Out, BatchManifest.FileName);
        File.AppendAllText(manifest, "{\"input\":\"img02.png\",\"outp"); // killed while writing a line
        var stale = Path.Combine(Out, ".img00.png.tmp-0123456789abcdef0123456789abcdef");
        File.WriteAllText(stale, "half an image");
        File.Delete(Path.Combine(Out, "img00.png"));

        var s = Run(new InvertJob());
        Assert.Equal((2, 1), (s.Skipped, s.Done));
        Assert.False(File.Exists(stale));
        var lines = File.ReadAllLines(manifest);
        Assert.Equal(3 + 1 + 3, lines.Length);
        using (var m = BatchManifest.Open(Out)) Assert.Equal(1, m.UnreadableLines);
        Assert.Equal(6, BatchManifest.Read(manifest).Count);
    }

    [Fact]
    public void TwoBatchesCannotWriteIntoOneOutputDirectory()
    {
        Images(2);
        Directory.CreateDirectory(Out);
        using (new FileStream(Path.Combine(Out, BatchRunner.LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var e = Assert.Throws<MLStyleException>(() => Run(new InvertJob()));
            Assert.Contains("another batch is writing into", e.Message);
            Assert.False(File.Exists(Path.Combine(Out, "img00.png")));
        }
        Assert.Equal(2, Run(new InvertJob()).Done); // a lock file left behind (as by a killed process) holds nothing
        Assert.False(File.Exists(Path.Combine(Out, BatchRunner.LockFileName)));
    }

    [Fact]
    public void ThreadsAreDividedBetweenWorkers()
    {
        Assert.Equal(1, BatchRunner.ThreadsPerWorker(2, 2));
        Assert.Equal(4, BatchRunner.ThreadsPerWorker(8, 2));
        Assert.Equal(1, BatchRunner.ThreadsPerWorker(2, 3));
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), BatchRunner.ThreadsPerWorker(0, 2));
    }

    [Fact]
    public void ReportEmbedsThumbnailsLossCurvesAndErrors()
    {
        Images(2, bad: 1);
        var s = Run(new InvertJob(), new BatchOptions { ThumbnailSize = 32 });
        var report = Path.Combine(_dir.Path, "report.html");
        BatchReport.Write(report, s, "test batch");
        var html = File.ReadAllText(report);
        Assert.Equal(4, CountOf(html, "data:image/jpeg;base64,")); // before and after of the two good images
        Assert.Equal(2, CountOf(html, "data:image/png;base64,"));  // their loss curves
        Assert.Contains("sub/broken0.jpg", html);
        Assert.Contains("empty (0 bytes)", html);
        var b64 = html[(html.IndexOf("data:image/png;base64,", StringComparison.Ordinal) + 22)..];
        var png = Convert.FromBase64String(b64[..b64.IndexOf('"')]);
        Assert.Equal(0x89, png[0]);
    }

    [Fact]
    public void ResumedReport_KeepsTheLossCurvesOfImagesDoneEarlier()
    {
        Images(2);
        var first = new InvertJob();
        Run(first, new BatchOptions { ThumbnailSize = 32 });
        var again = new InvertJob();
        var s = Run(again, new BatchOptions { ThumbnailSize = 32 });
        Assert.Equal(0, again.Runs);
        Assert.Equal(2, s.Skipped);
        Assert.All(s.Outcomes, o => Assert.Equal(new[] { "total" }, o.Entry.LossCurves!.Keys));
        Assert.All(s.Outcomes, o => Assert.Equal(3, o.Entry.LossCurves!["total"].Count));
        var report = Path.Combine(_dir.Path, "report.html");
        BatchReport.Write(report, s, "resumed batch");
        Assert.Equal(2, CountOf(File.ReadAllText(report), "data:image/png;base64,")); // both skipped images keep their curves
    }

    static int CountOf(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
