#nullable enable
using MLStyle.Batch;
using MLStyle.Imaging;
using MLStyle.Tests.Batch;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Cli;

/// <summary><c>mlstyle batch stylize</c> end to end over a generated corpus of good, unusual and broken images.</summary>
public sealed class BatchStylizeCliTests : IDisposable
{
    readonly TempDir _dir = new();
    string In => Path.Combine(_dir.Path, "in");
    string Out => Path.Combine(_dir.Path, "out");
    string Style => Path.Combine(_dir.Path, "style.png");

    public BatchStylizeCliTests() => Corpus.Write(_dir.Path, "style.png", Corpus.Photo(32, 32, 42));

    public void Dispose() => _dir.Dispose();

    string[] Batch(params string[] extra) =>
        ["batch", "stylize", "--input", In, "--output", Out, "--style", Style, "--size", "32", "--iterations", "2",
         "--style-layers", "conv1", "--content-layers", "conv1", "--threads", "2", .. extra];

    [Fact]
    public void EveryGoodImageIsDoneEveryBadOneReportedAndARerunRedoesNothing()
    {
        var good = Corpus.Good();
        var bad = Corpus.Bad();
        foreach (var (name, (bytes, _, _)) in good) Corpus.Write(In, name, bytes);
        foreach (var (name, (bytes, _)) in bad) Corpus.Write(In, name, bytes);
        var report = Path.Combine(Out, "report.html");

        var r = CliRunner.Run(Batch("--workers", "2", "--report", report));
        Assert.True(r.ExitCode == 3, r.Stderr);
        r.AssertNoStackTrace();
        Assert.Contains($"batch: {good.Count + bad.Count} images: {good.Count} done, 0 skipped, {bad.Count} failed", r.Stdout);
        var failures = r.ErrorLines.Where(l => l.StartsWith("failed: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(bad.Count, failures.Count);
        foreach (var (name, (_, reason)) in bad)
            Assert.True(failures.Any(l => l.StartsWith($"failed: {name}: ", StringComparison.Ordinal) && l.Contains(reason, StringComparison.OrdinalIgnoreCase)),
                $"no failure line for {name} with '{reason}' in:\n{string.Join("\n", failures)}");

        foreach (var (name, (_, w, h)) in good)
        {
            var output = ImageIO.Load(Path.Combine(Out, Path.ChangeExtension(name, ".png")));
            Assert.True((w, h) == (output.Width, output.Height), $"{name}: {output.Width}x{output.Height}, expected {w}x{h}");
        }
        var cmyk = ImageIO.Load(Path.Combine(In, "good/cmyk.jpg")); // red, whatever its colour model
        Assert.True(cmyk.Data[0] > 200 && cmyk.Data[64] < 80 && cmyk.Data[128] < 80, $"CMYK pixel {cmyk.Data[0]},{cmyk.Data[64]},{cmyk.Data[128]}");
        Assert.Empty(Directory.EnumerateFiles(Out, "*.tmp-*", SearchOption.AllDirectories));
        var html = File.ReadAllText(report);
        Assert.Contains("data:image/jpeg;base64,", html);
        Assert.Contains("data:image/png;base64,", html);

        var manifest = BatchManifest.Read(Path.Combine(Out, BatchManifest.FileName));
        Assert.Equal(good.Count + bad.Count, manifest.Count);

        // The rerun skips every finished image, tries the failed ones again, and still reports them.
        var again = CliRunner.Run(Batch());
        Assert.Equal(3, again.ExitCode);
        Assert.Contains($"{good.Count} skipped, {bad.Count} failed", again.Stdout);
    }

    [Fact]
    public void CleanBatchExitsWith0AndJpgFormatMirrorsTheTree()
    {
        Corpus.Write(In, "a.png", Corpus.Photo(40, 20, 1));
        Corpus.Write(In, "deep/er/b.png", Corpus.Photo(20, 40, 2));
        var r = CliRunner.Run(Batch("--format", "jpg"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal((32, 16), Size(Path.Combine(Out, "a.jpg")));
        Assert.Equal((16, 32), Size(Path.Combine(Out, "deep", "er", "b.jpg")));
        Assert.Contains("2 done, 0 skipped, 0 failed", r.Stdout);
    }

    [Fact]
    public void DryRunEstimatesWithoutWriting()
    {
        Corpus.Write(In, "a.png", Corpus.Photo(40, 20, 1));
        Corpus.Write(In, "b.png", []);
        var r = CliRunner.Run(Batch("--dry-run", "--workers", "2"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("estimate: 32x32, lbfgs history 25, 2 workers: peak memory ~", r.Stdout);
        Assert.Contains("batch: 2 images, 1 of them with unreadable headers", r.Stdout);
        Assert.False(Directory.Exists(Out));
    }

    [Theory]
    [InlineData("input directory", "--input", "nowhere")]
    [InlineData("cannot create the output directory", "--output", "missing/parent/out")]
    [InlineData("--style-blend has 2 weights for 1 style images", "--style-blend", "0.3,0.7")]
    [InlineData("invalid --workers 0", "--workers", "0")]
    [InlineData("invalid --format 'tiff'", "--format", "tiff")]
    [InlineData("written as .html", "--report", "r.txt")]
    [InlineData("above the limit", "--max-memory", "100MiB")]
    [InlineData("no layer 'nope'", "--style-layers", "nope")]
    public void BadBatchOptionsAreOneErrorLine(string reason, string option, string value)
    {
        Corpus.Write(In, "a.png", Corpus.Photo(40, 20, 1));
        var args = Batch().ToList();
        int at = args.IndexOf(option);
        if (at >= 0) args.RemoveRange(at, 2);
        args.AddRange([option, option is "--input" or "--output" ? Path.Combine(_dir.Path, value) : value]);
        CliRunner.Run([.. args]).AssertOneError(option == "--max-memory" ? 5 : 2, reason);
    }

    [Fact]
    public void EmptyInputDirectoryIsAnError()
    {
        Directory.CreateDirectory(In);
        CliRunner.Run(Batch()).AssertOneError(2, "no images found");
    }

    static (int, int) Size(string path)
    {
        var info = ImageIO.Probe(path);
        return (info.Width, info.Height);
    }
}
