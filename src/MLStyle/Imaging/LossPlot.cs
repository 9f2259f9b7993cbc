#nullable enable
using MLStyle.Files;
using SkiaSharp;

namespace MLStyle.Imaging;

/// <summary>Layout and labelling options for <see cref="LossPlot"/>.</summary>
public sealed class LossPlotOptions
{
    /// <summary>Image width in pixels (default 960, at least 200).</summary>
    public int Width { get; init; } = 960;

    /// <summary>Image height in pixels (default 600, at least 150).</summary>
    public int Height { get; init; } = 600;

    /// <summary>Iteration of each series' first value (default 0). Point <c>j</c> is drawn at <c>FirstIteration + j * IterationStep</c>.</summary>
    public double FirstIteration { get; init; }

    /// <summary>Iterations between consecutive values (default 1), e.g. 10 when the loss is logged every 10 iterations.</summary>
    public double IterationStep { get; init; } = 1;

    /// <summary>X axis label (default "iteration").</summary>
    public string XLabel { get; init; } = "iteration";

    /// <summary>Y axis label (default "loss", with " (log scale)" appended for a log axis).</summary>
    public string YLabel { get; init; } = "loss";
}

/// <summary>
/// Draws loss curves (x = iteration, one line per named series) to a PNG with SkiaSharp: title, axes, grid,
/// tick labels, a legend and a distinct colour per series, optionally with a logarithmic y axis. Text is set in the embedded
/// DejaVu Sans (<see cref="PlotText"/>); ticks come from <see cref="AxisTicks"/>.
/// </summary>
public static class LossPlot
{
    private static readonly SKColor[] Palette =
    [
        new(0x1F, 0x77, 0xB4), new(0xFF, 0x7F, 0x0E), new(0x2C, 0xA0, 0x2C), new(0xD6, 0x27, 0x28),
        new(0x94, 0x67, 0xBD), new(0x8C, 0x56, 0x4B), new(0xE3, 0x77, 0xC2), new(0x7F, 0x7F, 0x7F),
        new(0xBC, 0xBD, 0x22), new(0x17, 0xBE, 0xCF),
    ];

    /// <summary>The colour used for the series at <paramref name="index"/> (a 10-colour palette, then generated hues).</summary>
    public static SKColor SeriesColor(int index) =>
        index < Palette.Length ? Palette[index] : SKColor.FromHsv((index * 137.508f) % 360f, 75f, 80f);

    /// <summary>
    /// Renders the loss curves and writes them atomically as a PNG.
    /// Non-finite values (and, on a log axis, values &lt;= 0) are skipped, leaving a gap in the line.
    /// If a log axis is requested but no value is positive, a linear axis is used instead.
    /// </summary>
    /// <param name="path">Output path; must end in <c>.png</c> and its directory must exist.</param>
    /// <param name="series">Loss values per series name, one value per logged iteration.</param>
    /// <param name="title">Plot title.</param>
    /// <param name="logY">Use a base-10 logarithmic y axis (default true).</param>
    /// <param name="options">Size and labelling options; <c>null</c> for defaults.</param>
    /// <exception cref="MLStyleException">Bad extension, missing directory or unwritable path.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, IReadOnlyList<double>> series, string title,
        bool logY = true, LossPlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (string.IsNullOrWhiteSpace(path))
            throw new MLStyleException("cannot save plot: the output path is empty");
        if (!string.Equals(Path.GetExtension(path), ".png", StringComparison.OrdinalIgnoreCase))
            throw new MLStyleException($"cannot save plot '{path}': unsupported output format '{Path.GetExtension(path)}' (plots are written as .png)");
        AtomicFile.CheckDestination(path);
        using var bitmap = Render(series, title, logY, options);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new MLStyleException($"cannot save plot '{path}': the PNG encoder failed");
        AtomicFile.Write(path, s => data.SaveTo(s));
    }

    /// <summary>Renders the plot to a new bitmap (the caller disposes it) without writing a file.</summary>
    /// <param name="series">Loss values per series name, one value per logged iteration.</param>
    /// <param name="title">Plot title.</param>
    /// <param name="logY">Use a base-10 logarithmic y axis.</param>
    /// <param name="options">Size and labelling options; <c>null</c> for defaults.</param>
    public static SKBitmap Render(IReadOnlyDictionary<string, IReadOnlyList<double>> series, string title,
        bool logY = true, LossPlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        options ??= new LossPlotOptions();
        title ??= "";
        int width = Math.Max(200, options.Width), height = Math.Max(150, options.Height);
        var axes = Axes.Of(series, logY, options);
        using var text = new PlotText();
        var frame = new Frame(axes, Layout(axes, text, width, height));

        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        DrawGrid(canvas, frame);
        var (legend, samples) = DrawSeries(canvas, frame, series);
        DrawAxes(canvas, frame, text, title, options);
        DrawLegend(canvas, frame.Plot, text, legend, samples);
        canvas.Flush();
        return bitmap;
    }

    static readonly SKColor Ink = new(0x22, 0x22, 0x22);

    /// <summary>The data ranges, ticks and tick labels of a plot.</summary>
    sealed record Axes(bool LogY, double X0, double Step, double XMin, double XMax, double YMin, double YMax,
        List<double> XTicks, List<double> YTicks, List<double> YMinor, List<string> XTickLabels, List<string> YTickLabels, string YLabel)
    {
        public static Axes Of(IReadOnlyDictionary<string, IReadOnlyList<double>> series, bool logY, LossPlotOptions options)
        {
            double step = options.IterationStep > 0 && double.IsFinite(options.IterationStep) ? options.IterationStep : 1;
            double x0 = double.IsFinite(options.FirstIteration) ? options.FirstIteration : 0;
            var values = series.Values.Where(v => v is not null).ToList();
            int maxCount = values.Count == 0 ? 0 : values.Max(v => v.Count);
            bool anyFinite = values.Any(v => v.Any(double.IsFinite));
            if (logY && !values.Any(v => v.Any(x => double.IsFinite(x) && x > 0))) logY = false;
            double yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
            foreach (var v in values.SelectMany(v => v).Where(v => Valid(v, logY)))
            {
                double t = logY ? Math.Log10(v) : v;
                yMin = Math.Min(yMin, t);
                yMax = Math.Max(yMax, t);
            }
            if (!anyFinite) { yMin = 0; yMax = 1; }
            double pad = yMax - yMin < 1e-12 ? (logY ? 0.5 : Math.Max(1e-9, Math.Abs(yMax) * 0.1 + (yMax == 0 ? 1 : 0))) : (yMax - yMin) * 0.05;
            yMin -= pad;
            yMax += pad;
            double xMin = x0, xMax = x0 + Math.Max(0, maxCount - 1) * step;
            if (xMax <= xMin) { xMin -= 1; xMax += 1; }

            bool integralX = x0 == Math.Floor(x0) && step == Math.Floor(step);
            var xTicks = AxisTicks.NiceTicks(xMin, xMax, 8, integralX ? 1 : 0);
            var (yTicks, yMinor) = logY ? AxisTicks.LogTicks(yMin, yMax) : (AxisTicks.NiceTicks(yMin, yMax, 7), new List<double>());
            List<string> yTickLabels;
            if (logY)
            {
                // One style per axis: all plain ("0.01" .. "1000") or all exponent ("1e3" .. "1e7").
                var tickValues = yTicks.Select(t => Math.Pow(10, t)).ToList();
                bool exponent = tickValues.Any(v => v >= 1e5 || v < 1e-3);
                yTickLabels = tickValues.Select(v => exponent ? AxisTicks.FormatExponent(v) : AxisTicks.FormatTick(v, 0)).ToList();
            }
            else yTickLabels = yTicks.Select(t => AxisTicks.FormatTick(t, AxisTicks.Step(yTicks))).ToList();
            var xTickLabels = xTicks.Select(t => AxisTicks.FormatTick(t, AxisTicks.Step(xTicks))).ToList();
            return new Axes(logY, x0, step, xMin, xMax, yMin, yMax, xTicks, yTicks, yMinor, xTickLabels, yTickLabels,
                logY ? options.YLabel + " (log scale)" : options.YLabel);
        }
    }

    /// <summary>The plot rectangle and the mapping of data to pixels.</summary>
    sealed record Frame(Axes Axes, SKRect Plot)
    {
        public float X(double x) => (float)(Plot.Left + (x - Axes.XMin) / (Axes.XMax - Axes.XMin) * Plot.Width);
        public float Y(double t) => (float)(Plot.Bottom - (t - Axes.YMin) / (Axes.YMax - Axes.YMin) * Plot.Height);
        public SKPoint Point(int j, double v) => new(X(Axes.X0 + j * Axes.Step), Y(Axes.LogY ? Math.Log10(v) : v));
    }

    static SKRect Layout(Axes axes, PlotText text, int width, int height)
    {
        float tickH = text.Height(TextRole.Tick), labelH = text.Height(TextRole.Label), titleH = text.Height(TextRole.Title);
        float maxYTickW = axes.YTickLabels.Count == 0 ? 0 : axes.YTickLabels.Max(s => text.Measure(s, TextRole.Tick));
        float left = 12 + labelH + 10 + maxYTickW + 8;
        float top = 14 + titleH + 14;
        float right = width - 24;
        float bottom = height - (10 + labelH + 10 + tickH + 8);
        if (right - left < 40 || bottom - top < 40)
        {
            left = Math.Min(left, width * 0.3f);
            top = Math.Min(top, height * 0.2f);
            bottom = Math.Max(top + 40, bottom);
        }
        return new SKRect(left, top, right, bottom);
    }

    static void DrawGrid(SKCanvas canvas, Frame f)
    {
        using var gridMinor = new SKPaint { Color = new SKColor(0xEE, 0xEE, 0xEE), StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        using var grid = new SKPaint { Color = new SKColor(0xDD, 0xDD, 0xDD), StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        foreach (double t in f.Axes.YMinor) canvas.DrawLine(f.Plot.Left, Snap(f.Y(t)), f.Plot.Right, Snap(f.Y(t)), gridMinor);
        foreach (double t in f.Axes.YTicks) canvas.DrawLine(f.Plot.Left, Snap(f.Y(t)), f.Plot.Right, Snap(f.Y(t)), grid);
        foreach (double t in f.Axes.XTicks) canvas.DrawLine(Snap(f.X(t)), f.Plot.Top, Snap(f.X(t)), f.Plot.Bottom, grid);
    }

    /// <summary>Draws the lines (gaps at invalid values, a dot for a lone point); returns the legend entries and points along the lines.</summary>
    static (List<(string Name, SKColor Color, bool Dashed)> Legend, List<SKPoint> Samples) DrawSeries(SKCanvas canvas, Frame f,
        IReadOnlyDictionary<string, IReadOnlyList<double>> series)
    {
        int index = 0;
        var legend = new List<(string Name, SKColor Color, bool Dashed)>();
        var samples = new List<SKPoint>(); // points along the drawn lines, to keep the legend off the data
        canvas.Save();
        canvas.ClipRect(f.Plot);
        foreach (var (name, values) in series)
        {
            var color = SeriesColor(index);
            bool dashed = index >= Palette.Length;
            legend.Add((name ?? "", color, dashed));
            index++;
            if (values is null) continue;
            using var line = new SKPaint
            {
                Color = color, StrokeWidth = 2.2f, Style = SKPaintStyle.Stroke, IsAntialias = true,
                StrokeJoin = SKStrokeJoin.Round, StrokeCap = SKStrokeCap.Round,
            };
            if (dashed) line.PathEffect = SKPathEffect.CreateDash([8f, 5f], 0);
            using var dot = new SKPaint { Color = color, Style = SKPaintStyle.Fill, IsAntialias = true };
            using var path = new SKPath();
            int segmentLength = 0;
            SKPoint last = default;
            for (int j = 0; j < values.Count; j++)
            {
                if (!Valid(values[j], f.Axes.LogY))
                {
                    if (segmentLength == 1) canvas.DrawCircle(last, 3f, dot);
                    segmentLength = 0;
                    continue;
                }
                var p = f.Point(j, values[j]);
                if (segmentLength > 0)
                {
                    path.LineTo(p);
                    for (int k = 1; k < 8; k++) samples.Add(new SKPoint(last.X + (p.X - last.X) * k / 8f, last.Y + (p.Y - last.Y) * k / 8f));
                }
                else path.MoveTo(p);
                samples.Add(p);
                segmentLength++;
                last = p;
            }
            if (segmentLength == 1) canvas.DrawCircle(last, 3f, dot);
            canvas.DrawPath(path, line);
        }
        canvas.Restore();
        return (legend, samples);
    }

    static void DrawAxes(SKCanvas canvas, Frame f, PlotText text, string title, LossPlotOptions options)
    {
        using var axis = new SKPaint { Color = new SKColor(0x33, 0x33, 0x33), StrokeWidth = 1.5f, Style = SKPaintStyle.Stroke, IsAntialias = true };
        var (plot, a) = (f.Plot, f.Axes);
        float tickH = text.Height(TextRole.Tick);
        canvas.DrawRect(plot, axis);
        for (int k = 0; k < a.YTicks.Count; k++)
        {
            float y = Snap(f.Y(a.YTicks[k]));
            canvas.DrawLine(plot.Left - 5, y, plot.Left, y, axis);
            string s = a.YTickLabels[k];
            text.Draw(canvas, s, plot.Left - 8 - text.Measure(s, TextRole.Tick), y - tickH / 2, Ink, TextRole.Tick);
        }
        for (int k = 0; k < a.XTicks.Count; k++)
        {
            float x = Snap(f.X(a.XTicks[k]));
            canvas.DrawLine(x, plot.Bottom, x, plot.Bottom + 5, axis);
            string s = a.XTickLabels[k];
            text.Draw(canvas, s, x - text.Measure(s, TextRole.Tick) / 2, plot.Bottom + 8, Ink, TextRole.Tick);
        }
        text.Draw(canvas, title, (plot.Left + plot.Right) / 2 - text.Measure(title, TextRole.Title) / 2, 14, Ink, TextRole.Title);
        text.Draw(canvas, options.XLabel, (plot.Left + plot.Right) / 2 - text.Measure(options.XLabel, TextRole.Label) / 2,
            plot.Bottom + 8 + tickH + 10, Ink, TextRole.Label);
        canvas.Save();
        canvas.Translate(12, (plot.Top + plot.Bottom) / 2 + text.Measure(a.YLabel, TextRole.Label) / 2);
        canvas.RotateDegrees(-90);
        text.Draw(canvas, a.YLabel, 0, 0, Ink, TextRole.Label);
        canvas.Restore();
    }

    /// <summary>The legend, inside the plot in the corner (top right, bottom right, bottom left, top left) covering the least data.</summary>
    static void DrawLegend(SKCanvas canvas, SKRect plot, PlotText text, List<(string Name, SKColor Color, bool Dashed)> legend, List<SKPoint> samples)
    {
        if (legend.Count == 0) return;
        const float swatch = 26, gap = 8, padding = 8;
        float rowH = Math.Max(text.Height(TextRole.Label), 10) + 6;
        float boxW = padding * 2 + swatch + gap + legend.Max(e => text.Measure(e.Name, TextRole.Label));
        float boxH = padding * 2 + rowH * legend.Count - 6;
        SKRect[] corners =
        [
            new(plot.Right - 10 - boxW, plot.Top + 10, plot.Right - 10, plot.Top + 10 + boxH),
            new(plot.Right - 10 - boxW, plot.Bottom - 10 - boxH, plot.Right - 10, plot.Bottom - 10),
            new(plot.Left + 10, plot.Bottom - 10 - boxH, plot.Left + 10 + boxW, plot.Bottom - 10),
            new(plot.Left + 10, plot.Top + 10, plot.Left + 10 + boxW, plot.Top + 10 + boxH),
        ];
        var box = corners.MinBy(c => samples.Count(SKRect.Inflate(c, 4, 4).Contains));
        using var boxFill = new SKPaint { Color = new SKColor(255, 255, 255, 230), Style = SKPaintStyle.Fill };
        using var boxLine = new SKPaint { Color = new SKColor(0xAA, 0xAA, 0xAA), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        canvas.DrawRect(box, boxFill);
        canvas.DrawRect(box, boxLine);
        for (int k = 0; k < legend.Count; k++)
        {
            float rowTop = box.Top + padding + k * rowH;
            float cy = rowTop + text.Height(TextRole.Label) / 2;
            using var sw = new SKPaint { Color = legend[k].Color, StrokeWidth = 3, Style = SKPaintStyle.Stroke, IsAntialias = true };
            if (legend[k].Dashed) sw.PathEffect = SKPathEffect.CreateDash([6f, 4f], 0);
            canvas.DrawLine(box.Left + padding, cy, box.Left + padding + swatch, cy, sw);
            text.Draw(canvas, legend[k].Name, box.Left + padding + swatch + gap, rowTop, Ink, TextRole.Label);
        }
    }

    static bool Valid(double v, bool logY) => double.IsFinite(v) && (!logY || v > 0);

    static float Snap(float v) => MathF.Floor(v) + 0.5f;
}
