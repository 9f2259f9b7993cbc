using MLStyle.Imaging;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Cli;

public class BenchQualityCliTests
{
    [Fact]
    public void BenchQuality_EveryPairAtEverySize_TableSheetAndResults()
    {
        using var dir = new TestImages.TempDir();
        var outDir = Path.Combine(dir.Path, "results");
        var args = new[]
        {
            "bench", "quality", "--content", TestImages.Sample("content/chelsea.png") + "," + TestImages.Sample("content/cincinnati-bridge.jpg"),
            "--style", TestImages.Sample("style/swirls.png"), "--sizes", "48,64", "--iterations", "2", "--style-layers", "conv1,layer1.0",
            "--content-layers", "layer1.0", "--threads", "1", "--out", outDir, "--markdown", dir.File("table.md"), "--sheet", dir.File("sheet.jpg"), "--cell", "32",
        };
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var table = File.ReadAllLines(dir.File("table.md"));
        Assert.Equal(2 + 4, table.TakeWhile(l => l.StartsWith('|')).Count());   // header, rule, 2 contents × 1 style × 2 sizes
        Assert.Contains(table, l => l.StartsWith("| chelsea | swirls | 64 |"));
        Assert.Contains(table, l => l.StartsWith("worst at 48 px: style"));
        Assert.Equal(4, Directory.GetFiles(outDir, "*.png").Length);
        Assert.Equal(64, ImageIO.Load(Path.Combine(outDir, "chelsea-swirls-64.png")).Width);
        var sheet = ImageIO.Load(dir.File("sheet.jpg"));
        Assert.True(sheet.Width > 4 * 32 && sheet.Height > 2 * 20, $"{sheet.Width}x{sheet.Height}");   // 4 columns, 2 rows

        // --reuse measures the results in place: same table, no new run (no seconds column).
        var again = CliRunner.Run(args.Append("--reuse").ToArray());
        Assert.True(again.ExitCode == 0, again.Stderr);
        var reused = File.ReadAllLines(dir.File("table.md")).Where(l => l.StartsWith("| chelsea | swirls | 64 |")).Single();
        Assert.EndsWith("|  |", reused);
    }

    [Fact]
    public void BenchQuality_EmptyContentDirectory_OneError()
    {
        using var dir = new TestImages.TempDir();
        var r = CliRunner.Run("bench", "quality", "--content", dir.Path, "--style", TestImages.Sample("style/swirls.png"), "--sizes", "48");
        r.AssertOneError(2, "no images");
    }

    [Fact]
    public void BenchQuality_SheetOverAnInput_Refused()
    {
        using var dir = new TestImages.TempDir();
        var style = dir.File("style.png");
        File.Copy(TestImages.Sample("style/swirls.png"), style);
        var before = File.ReadAllBytes(style);
        var r = CliRunner.Run("bench", "quality", "--content", TestImages.Sample("content/chelsea.png"), "--style", style, "--sizes", "48",
            "--out", dir.File("results"), "--sheet", style);
        r.AssertOneError(2, "refusing to write");
        Assert.Equal(before, File.ReadAllBytes(style));
    }
}
