#nullable enable
using MLStyle.Imaging;
using SkiaSharp;

namespace MLStyle.Tests.Imaging;

public sealed class LossPlotTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, IReadOnlyList<double>> Curves()
    {
        var content = new List<double>();
        var style = new List<double>();
        var total = new List<double>();
        for (int i = 0; i < 300; i++)
        {
            double c = 2e5 * Math.Exp(-i / 80.0) + 3e3;
            double s = 8e6 * Math.Exp(-i / 30.0) + 1e4;
            content.Add(c);
            style.Add(s);
            total.Add(c + s);
        }
        return new() { ["content"] = content, ["style"] = style, ["total"] = total };
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WritesDecodablePngWithContent(bool logY)
    {
        string path = _dir.File("loss.png");
        LossPlot.Save(path, Curves(), "Loss", logY, new LossPlotOptions { Width = 640, Height = 400 });
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp-*"));
        using var bmp = SKBitmap.Decode(path);
        Assert.NotNull(bmp);
        Assert.Equal((640, 400), (bmp.Width, bmp.Height));

        int white = 0, dark = 0;
        var seriesSeen = new bool[3];
        for (int y = 0; y < bmp.Height; y++)
            for (int x = 0; x < bmp.Width; x++)
            {
                var p = bmp.GetPixel(x, y);
                if (p.Red > 250 && p.Green > 250 && p.Blue > 250) white++;
                if (p.Red < 80 && p.Green < 80 && p.Blue < 80) dark++;
                for (int k = 0; k < 3; k++)
                {
                    var c = LossPlot.SeriesColor(k);
                    if (Math.Abs(p.Red - c.Red) + Math.Abs(p.Green - c.Green) + Math.Abs(p.Blue - c.Blue) < 12) seriesSeen[k] = true;
                }
            }
        int total = bmp.Width * bmp.Height;
        Assert.True(white > total / 2, "mostly white background expected");
        Assert.True(dark > 800, $"axes and text expected, got {dark} dark pixels");
        Assert.All(seriesSeen, Assert.True);
    }

    [Fact]
    public void HandlesEmptyNonPositiveAndNonFiniteSeries()
    {
        string path = _dir.File("odd.png");
        var series = new Dictionary<string, IReadOnlyList<double>>
        {
            ["empty"] = [],
            ["zeros"] = [0, 0, -1],
            ["gaps"] = [1, double.NaN, 2, double.PositiveInfinity, 3],
            ["single"] = [5],
        };
        LossPlot.Save(path, series, "odd", logY: true);
        using var bmp = SKBitmap.Decode(path);
        Assert.Equal((960, 600), (bmp.Width, bmp.Height));

        LossPlot.Save(path, new Dictionary<string, IReadOnlyList<double>> { ["neg"] = [-3, -2, -1] }, "all negative", logY: true);
        Assert.NotNull(SKBitmap.Decode(path));
    }

    [Fact]
    public void RefusesNonPngAndMissingDirectory()
    {
        Assert.Throws<MLStyleException>(() => LossPlot.Save(_dir.File("loss.jpg"), Curves(), "x"));
        var ex = Assert.Throws<MLStyleException>(() => LossPlot.Save(Path.Combine(_dir.Path, "missing", "loss.png"), Curves(), "x"));
        Assert.Contains("does not exist", ex.Message);
    }

    [Fact]
    public void EmbeddedFont_HasEveryPrintableGlyph_AndDraws()
    {
        var printable = new string(Enumerable.Range('!', '~' - '!' + 1).Select(c => (char)c).ToArray());
        Assert.True(PlotText.Typeface.ContainsGlyphs(printable + "×éü–…"));
        Assert.Equal("DejaVu Sans", PlotText.Typeface.FamilyName);

        using var text = new PlotText();
        using var bmp = new SKBitmap(new SKImageInfo(60, 20));
        using (var canvas = new SKCanvas(bmp))
        {
            canvas.Clear(SKColors.White);
            text.Draw(canvas, "Hi 42", 1, 2, SKColors.Black, TextRole.Tick);
        }
        int dark = 0;
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 60; x++)
                if (bmp.GetPixel(x, y).Red < 128) dark++;
        Assert.InRange(dark, 20, 400);
        Assert.True(text.Measure("Hi 42", TextRole.Tick) > text.Measure("Hi", TextRole.Tick));
    }

    [Theory]
    [InlineData(0, 1, "0")]
    [InlineData(1500, 500, "1500")]
    [InlineData(2.5e6, 5e5, "2.5e6")]
    [InlineData(0.25, 0.05, "0.25")]
    [InlineData(1e-4, 0, "1e-4")]
    public void TickLabelsAreCompact(double value, double step, string expected) =>
        Assert.Equal(expected, AxisTicks.FormatTick(value, step));
}
