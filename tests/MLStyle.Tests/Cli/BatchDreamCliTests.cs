#nullable enable
using MLStyle.Batch;
using MLStyle.Imaging;
using MLStyle.Tests.Batch;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Cli;

/// <summary><c>mlstyle batch dream</c>: the dream command's options over a directory tree.</summary>
public sealed class BatchDreamCliTests : IDisposable
{
    readonly TempDir _dir = new();
    string In => Path.Combine(_dir.Path, "in");
    string Out => Path.Combine(_dir.Path, "out");

    public void Dispose() => _dir.Dispose();

    string[] Batch(params string[] extra) =>
        ["batch", "dream", "--input", In, "--output", Out, "--size", "40", "--octaves", "2", "--iterations", "2", "--layers", "conv1",
         "--jitter", "4", "--threads", "2", .. extra];

    [Fact]
    public void DreamsEveryGoodImageReportsTheBadOnesAndResumes()
    {
        Corpus.Write(In, "a.png", Corpus.Photo(60, 40, 1));
        Corpus.Write(In, "deep/b.jpg", Corpus.Photo(40, 60, 2, SkiaSharp.SKEncodedImageFormat.Jpeg));
        Corpus.Write(In, "deep/broken.jpg", []);

        var r = CliRunner.Run(Batch("--workers", "2", "--report", Path.Combine(Out, "report.html")));
        Assert.True(r.ExitCode == 3, r.Stderr);
        r.AssertNoStackTrace();
        Assert.Contains("3 images: 2 done, 0 skipped, 1 failed", r.Stdout);
        Assert.Contains(r.ErrorLines, l => l.StartsWith("failed: deep/broken.jpg: ", StringComparison.Ordinal) && l.Contains("empty"));
        var a = ImageIO.Load(Path.Combine(Out, "a.png"));
        Assert.Equal((40, 27), (a.Width, a.Height));
        var source = ImageIO.ResizeToLongSide(ImageIO.Load(Path.Combine(In, "a.png")), 40);
        Assert.True(source.Data.Zip(a.Data).Average(p => Math.Abs(p.First - p.Second)) > 0.5, "the dream changed nothing");
        Assert.Equal((27, 40), (ImageIO.Probe(Path.Combine(Out, "deep", "b.png")).Width, ImageIO.Probe(Path.Combine(Out, "deep", "b.png")).Height));
        var ok = BatchManifest.Read(Path.Combine(Out, BatchManifest.FileName)).First(e => e.Status == ManifestStatus.Ok);
        Assert.Equal("dream", ok.Kind);
        Assert.Equal("conv1", ok.Options!["layers"]![0]!["layer"]!.GetValue<string>());
        Assert.True(ok.Losses!.ContainsKey("objective"));
        Assert.Contains("data:image/png;base64,", File.ReadAllText(Path.Combine(Out, "report.html")));

        var again = CliRunner.Run(Batch());
        Assert.Equal(3, again.ExitCode);
        Assert.Contains("2 skipped, 1 failed", again.Stdout);
        var other = CliRunner.Run(Batch("--step", "2", "--exclude", "**/broken.jpg"));
        Assert.Equal(0, other.ExitCode);
        Assert.Contains("2 done, 0 skipped, 0 failed", other.Stdout); // other options: redone
    }

    [Theory]
    [InlineData("no layer 'nope'", "--layers", "nope")]
    [InlineData("invalid octaves 0", "--octaves", "0")]
    public void BadDreamOptionsAreOneErrorLine(string reason, string option, string value)
    {
        Corpus.Write(In, "a.png", Corpus.Photo(60, 40, 1));
        var args = Batch().ToList();
        int at = args.IndexOf(option);
        if (at >= 0) args.RemoveRange(at, 2);
        args.AddRange([option, value]);
        CliRunner.Run([.. args]).AssertOneError(2, reason);
        Assert.False(File.Exists(Path.Combine(Out, "a.png")));
    }

    [Theory]
    [InlineData("--frames", "3")]
    [InlineData("--zoom", "0.1")]
    [InlineData("--frames-dir", "frames")]
    [InlineData("--dry-run")]
    [InlineData("--max-memory", "8GiB")]
    public void SingleImageOptionsAreUnknown(params string[] option)
    {
        Corpus.Write(In, "a.png", Corpus.Photo(60, 40, 1));
        CliRunner.Run([.. Batch(), .. option]).AssertOneError(2, $"unknown option '{option[0][2..]}'");
        Assert.False(Directory.Exists(Out));
    }
}
