#nullable enable
using MLStyle.Files;
using System.Globalization;
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

    /// <summary>
    /// Text rendering: <c>null</c> (default) uses a system font when one actually renders glyphs and the built-in
    /// <see cref="BitmapFont"/> otherwise; <c>true</c> forces the bitmap font; <c>false</c> forces the system font.
    /// </summary>
    public bool? UseBitmapFont { get; init; }
}

/// <summary>
/// Draws loss curves (x = iteration, one line per named series) to a PNG with SkiaSharp: title, axes, grid,
/// tick labels, a legend and a distinct colour per series, optionally with a logarithmic y axis.
/// </summary>
public static class LossPlot
{
    private static readonly SKColor[] Palette =
    [
        new(0x1F, 0x77, 0xB4), new(0xFF, 0x7F, 0x0E), new(0x2C, 0xA0, 0x2C), new(0xD6, 0x27, 0x28),
        new(0x94, 0x67, 0xBD), new(0x8C, 0x56, 0x4B), new(0xE3, 0x77, 0xC2), new(0x7F, 0x7F, 0x7F),
        new(0xBC, 0xBD, 0x22), new(0x17, 0xBE, 0xCF),
    ];

    private static readonly Lazy<SKTypeface?> SystemTypeface = new(FindWorkingTypeface);

    /// <summary>The colour used for the series at <paramref name="index"/> (a 10-colour palette, then generated hues).</summary>
    public static SKColor SeriesColor(int index) =>
        index < Palette.Length ? Palette[index] : SKColor.FromHsv((index * 137.508f) % 360f, 75f, 80f);

    /// <summary>True if a system font renders visible glyphs here (checked once by drawing text to a bitmap).</summary>
    public static bool SystemFontAvailable => SystemTypeface.Value is not null;

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
        double step = options.IterationStep > 0 && double.IsFinite(options.IterationStep) ? options.IterationStep : 1;
        double x0 = double.IsFinite(options.FirstIteration) ? options.FirstIteration : 0;

        // ---- data ranges
        bool anyPositive = false, anyFinite = false;
        int maxCount = 0;
        double yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (var (_, values) in series)
        {
            if (values is null) continue;
            maxCount = Math.Max(maxCount, values.Count);
            foreach (double v in values)
            {
                if (!double.IsFinite(v)) continue;
                anyFinite = true;
                if (v > 0) anyPositive = true;
            }
        }
        if (logY && !anyPositive) logY = false;
        foreach (var (_, values) in series)
        {
            if (values is null) continue;
            foreach (double v in values)
            {
                if (!Valid(v, logY)) continue;
                double t = logY ? Math.Log10(v) : v;
                yMin = Math.Min(yMin, t);
                yMax = Math.Max(yMax, t);
            }
        }
        if (!anyFinite) { yMin = 0; yMax = 1; }
        if (yMax - yMin < 1e-12)
        {
            double pad = logY ? 0.5 : Math.Max(1e-9, Math.Abs(yMax) * 0.1 + (yMax == 0 ? 1 : 0));
            yMin -= pad;
            yMax += pad;
        }
        else
        {
            double pad = (yMax - yMin) * 0.05;
            yMin -= pad;
            yMax += pad;
        }
        double xMin = x0, xMax = x0 + Math.Max(0, maxCount - 1) * step;
        if (xMax <= xMin) { xMin -= 1; xMax += 1; }

        bool integralX = x0 == Math.Floor(x0) && step == Math.Floor(step);
        var xTicks = NiceTicks(xMin, xMax, 8, integralX ? 1 : 0);
        var (yTicks, yMinor) = logY ? LogTicks(yMin, yMax) : (NiceTicks(yMin, yMax, 7), new List<double>());

        // ---- text and layout
        using var text = TextPainter.Create(options.UseBitmapFont);
        string yLabel = logY ? options.YLabel + " (log scale)" : options.YLabel;
        List<string> yTickLabels;
        if (logY)
        {
            // One style per axis: all plain ("0.01" .. "1000") or all exponent ("1e3" .. "1e7").
            var values = yTicks.Select(t => Math.Pow(10, t)).ToList();
            bool exponent = values.Any(v => v >= 1e5 || v < 1e-3);
            yTickLabels = values.Select(v => exponent ? FormatExponent(v) : FormatTick(v, 0)).ToList();
        }
        else
        {
            yTickLabels = yTicks.Select(t => FormatTick(t, Step(yTicks))).ToList();
        }
        var xTickLabels = xTicks.Select(t => FormatTick(t, Step(xTicks))).ToList();
        float tickH = text.Height(TextRole.Tick), labelH = text.Height(TextRole.Label), titleH = text.Height(TextRole.Title);
        float maxYTickW = yTickLabels.Count == 0 ? 0 : yTickLabels.Max(s => text.Measure(s, TextRole.Tick));

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
        var plot = new SKRect(left, top, right, bottom);
        float MapX(double x) => (float)(plot.Left + (x - xMin) / (xMax - xMin) * plot.Width);
        float MapY(double t) => (float)(plot.Bottom - (t - yMin) / (yMax - yMin) * plot.Height);

        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);

        using var gridMinor = new SKPaint { Color = new SKColor(0xEE, 0xEE, 0xEE), StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        using var grid = new SKPaint { Color = new SKColor(0xDD, 0xDD, 0xDD), StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        using var axis = new SKPaint { Color = new SKColor(0x33, 0x33, 0x33), StrokeWidth = 1.5f, Style = SKPaintStyle.Stroke, IsAntialias = true };
        var ink = new SKColor(0x22, 0x22, 0x22);

        // Grid.
        foreach (double t in yMinor)
        {
            float y = Snap(MapY(t));
            canvas.DrawLine(plot.Left, y, plot.Right, y, gridMinor);
        }
        foreach (double t in yTicks)
        {
            float y = Snap(MapY(t));
            canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
        }
        foreach (double t in xTicks)
        {
            float x = Snap(MapX(t));
            canvas.DrawLine(x, plot.Top, x, plot.Bottom, grid);
        }

        // Series.
        int index = 0;
        var legend = new List<(string Name, SKColor Color, bool Dashed)>();
        var samples = new List<SKPoint>(); // points along the drawn lines, to keep the legend off the data
        canvas.Save();
        canvas.ClipRect(plot);
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
            using var pathObj = new SKPath();
            bool penDown = false;
            int segmentLength = 0;
            SKPoint lastPoint = default;
            for (int j = 0; j < values.Count; j++)
            {
                double v = values[j];
                if (!Valid(v, logY))
                {
                    if (segmentLength == 1) canvas.DrawCircle(lastPoint, 3f, dot);
                    penDown = false;
                    segmentLength = 0;
                    continue;
                }
                var p = new SKPoint(MapX(x0 + j * step), MapY(logY ? Math.Log10(v) : v));
                if (penDown)
                {
                    pathObj.LineTo(p);
                    for (int k = 1; k < 8; k++)
                        samples.Add(new SKPoint(lastPoint.X + (p.X - lastPoint.X) * k / 8f, lastPoint.Y + (p.Y - lastPoint.Y) * k / 8f));
                }
                else
                {
                    pathObj.MoveTo(p);
                }
                samples.Add(p);
                penDown = true;
                segmentLength++;
                lastPoint = p;
            }
            if (segmentLength == 1) canvas.DrawCircle(lastPoint, 3f, dot);
            canvas.DrawPath(pathObj, line);
        }
        canvas.Restore();

        // Axes box and ticks.
        canvas.DrawRect(plot, axis);
        for (int k = 0; k < yTicks.Count; k++)
        {
            float y = Snap(MapY(yTicks[k]));
            canvas.DrawLine(plot.Left - 5, y, plot.Left, y, axis);
            string s = yTickLabels[k];
            text.Draw(canvas, s, plot.Left - 8 - text.Measure(s, TextRole.Tick), y - tickH / 2, ink, TextRole.Tick);
        }
        for (int k = 0; k < xTicks.Count; k++)
        {
            float x = Snap(MapX(xTicks[k]));
            canvas.DrawLine(x, plot.Bottom, x, plot.Bottom + 5, axis);
            string s = xTickLabels[k];
            text.Draw(canvas, s, x - text.Measure(s, TextRole.Tick) / 2, plot.Bottom + 8, ink, TextRole.Tick);
        }

        // Title and axis labels.
        text.Draw(canvas, title, (plot.Left + plot.Right) / 2 - text.Measure(title, TextRole.Title) / 2, 14, ink, TextRole.Title);
        text.Draw(canvas, options.XLabel, (plot.Left + plot.Right) / 2 - text.Measure(options.XLabel, TextRole.Label) / 2,
            plot.Bottom + 8 + tickH + 10, ink, TextRole.Label);
        canvas.Save();
        float yLabelW = text.Measure(yLabel, TextRole.Label);
        canvas.Translate(12, (plot.Top + plot.Bottom) / 2 + yLabelW / 2);
        canvas.RotateDegrees(-90);
        text.Draw(canvas, yLabel, 0, 0, ink, TextRole.Label);
        canvas.Restore();

        // Legend: inside the plot, in the corner (top right, bottom right, bottom left, top left) covering the least data.
        if (legend.Count > 0)
        {
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
            var box = corners[0];
            int best = int.MaxValue;
            foreach (var candidate in corners)
            {
                var inflated = SKRect.Inflate(candidate, 4, 4);
                int hits = samples.Count(pt => inflated.Contains(pt));
                if (hits < best) { best = hits; box = candidate; }
            }
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
                text.Draw(canvas, legend[k].Name, box.Left + padding + swatch + gap, rowTop, ink, TextRole.Label);
            }
        }

        canvas.Flush();
        return bitmap;
    }

    // ------------------------------------------------------------------ helpers

    private static bool Valid(double v, bool logY) => double.IsFinite(v) && (!logY || v > 0);

    private static float Snap(float v) => MathF.Floor(v) + 0.5f;

    private static double Step(List<double> ticks) => ticks.Count >= 2 ? ticks[1] - ticks[0] : 0;

    /// <summary>Ticks at 1, 2, 5 x 10^k inside [lo, hi], about <paramref name="target"/> of them.</summary>
    internal static List<double> NiceTicks(double lo, double hi, int target, double minStep = 0)
    {
        var ticks = new List<double>();
        double span = hi - lo;
        if (!(span > 0) || !double.IsFinite(span)) return ticks;
        double raw = span / Math.Max(1, target);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double norm = raw / mag;
        double step = Math.Max(minStep, (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag);
        double first = Math.Ceiling(lo / step - 1e-9) * step;
        for (int i = 0; i < 100; i++)
        {
            double t = first + i * step;
            if (t > hi + step * 1e-9) break;
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        }
        return ticks;
    }

    /// <summary>Major and minor ticks for a log10 axis spanning [lo, hi] (in log10 units).</summary>
    private static (List<double> Major, List<double> Minor) LogTicks(double lo, double hi)
    {
        var major = new List<double>();
        var minor = new List<double>();
        int kLo = (int)Math.Ceiling(lo - 1e-9), kHi = (int)Math.Floor(hi + 1e-9);
        int decades = kHi - kLo + 1;
        if (decades >= 2)
        {
            int every = Math.Max(1, (int)Math.Ceiling(decades / 8.0));
            for (int k = kLo; k <= kHi; k++)
                if ((k - kLo) % every == 0) major.Add(k);
            if (every == 1 && hi - lo <= 7)
            {
                for (int k = (int)Math.Floor(lo); k <= kHi; k++)
                    for (int m = 2; m <= 9; m++)
                    {
                        double t = k + Math.Log10(m);
                        if (t >= lo && t <= hi) minor.Add(t);
                    }
            }
            if (major.Count <= 3 && every == 1)
            {
                // Few decades: also label 2x and 5x.
                foreach (double t in minor.ToList())
                {
                    double m = Math.Round(Math.Pow(10, t - Math.Floor(t + 1e-9)));
                    if (m is 2 or 5) major.Add(t);
                }
                major.Sort();
            }
            return (major, minor);
        }
        // Less than about one decade: linear "nice" ticks in value space, placed logarithmically.
        double vLo = Math.Pow(10, lo), vHi = Math.Pow(10, hi);
        foreach (double v in NiceTicks(vLo, vHi, 6))
            if (v > 0) major.Add(Math.Log10(v));
        return (major, minor);
    }

    /// <summary>
    /// Formats an axis value compactly: "0", "1500", "0.25" for moderate magnitudes (decimals chosen from the tick
    /// <paramref name="step"/>; 0 = unknown), and "2.5e6" / "1e-4" style for |v| &gt;= 1e5 or &lt; 1e-3.
    /// </summary>
    /// <param name="v">The value.</param>
    /// <param name="step">Distance between neighbouring ticks, or 0 if unknown.</param>
    public static string FormatTick(double v, double step)
    {
        if (v == 0) return "0";
        double a = Math.Abs(v);
        var inv = CultureInfo.InvariantCulture;
        if (a >= 1e5 || a < 1e-3) return FormatExponent(v);
        int decimals = 0;
        if (step > 0 && step < 1) decimals = Math.Min(6, (int)Math.Ceiling(-Math.Log10(step) - 1e-9));
        else if (step == 0) return v.ToString("0.###", inv);
        return v.ToString("F" + decimals, inv);
    }

    private static string FormatExponent(double v)
    {
        if (v == 0) return "0";
        int exp = (int)Math.Floor(Math.Log10(Math.Abs(v)));
        double mant = v / Math.Pow(10, exp);
        if (Math.Abs(mant) >= 9.995) { mant /= 10; exp++; }
        return $"{mant.ToString("0.##", CultureInfo.InvariantCulture)}e{exp}";
    }

    private static SKTypeface? FindWorkingTypeface()
    {
        try
        {
            var manager = SKFontManager.Default;
            string[] names = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans", "Segoe UI", "sans-serif"];
            foreach (string name in names)
            {
                var tf = manager.MatchFamily(name);
                if (tf is null) continue;
                if (Renders(tf)) return tf;
                tf.Dispose();
            }
            var fallback = SKTypeface.Default;
            return fallback is not null && Renders(fallback) ? fallback : null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return null;
        }
    }

    /// <summary>Draws sample text and checks that glyph pixels actually appeared.</summary>
    private static bool Renders(SKTypeface typeface)
    {
        using var bmp = new SKBitmap(new SKImageInfo(80, 32, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bmp))
        {
            canvas.Clear(SKColors.White);
            using var paint = new SKPaint { Typeface = typeface, TextSize = 20, Color = SKColors.Black, IsAntialias = true };
            canvas.DrawText("Hg8", 4, 24, paint);
        }
        int dark = 0;
        var px = bmp.GetPixelSpan();
        for (int i = 0; i < px.Length; i += 4)
            if (px[i] < 128) dark++;
        return dark >= 20;
    }

    private enum TextRole { Title, Label, Tick }

    /// <summary>Draws text with a system typeface or, when none renders, the built-in bitmap font.</summary>
    private sealed class TextPainter : IDisposable
    {
        private readonly SKPaint? _title, _label, _tick;

        private TextPainter(SKTypeface? typeface)
        {
            if (typeface is not null)
            {
                _title = MakePaint(typeface, 20);
                _label = MakePaint(typeface, 15);
                _tick = MakePaint(typeface, 13);
            }
        }

        private static SKPaint MakePaint(SKTypeface typeface, float size) =>
            new() { Typeface = typeface, TextSize = size, IsAntialias = true, SubpixelText = true, Color = SKColors.Black };

        public static TextPainter Create(bool? useBitmapFont) =>
            new(useBitmapFont == true ? null : SystemTypeface.Value ?? (useBitmapFont == false ? SKTypeface.Default : null));

        private SKPaint? Paint(TextRole role) => role switch { TextRole.Title => _title, TextRole.Label => _label, _ => _tick };

        private static int Scale(TextRole role) => role == TextRole.Title ? 3 : 2;

        public float Measure(string s, TextRole role) =>
            Paint(role) is { } p ? p.MeasureText(s) : BitmapFont.MeasureWidth(s, Scale(role));

        public float Height(TextRole role)
        {
            if (Paint(role) is not { } p) return BitmapFont.CapHeight * Scale(role);
            var m = p.FontMetrics;
            return m.CapHeight > 0 ? m.CapHeight : -m.Ascent * 0.75f;
        }

        /// <summary>Draws with the top of capital letters at <paramref name="top"/>.</summary>
        public void Draw(SKCanvas canvas, string s, float x, float top, SKColor color, TextRole role)
        {
            if (string.IsNullOrEmpty(s)) return;
            if (Paint(role) is { } p)
            {
                p.Color = color;
                canvas.DrawText(s, x, top + Height(role), p);
            }
            else
            {
                BitmapFont.DrawText(canvas, s, MathF.Round(x), MathF.Round(top), color, Scale(role));
            }
        }

        public void Dispose()
        {
            _title?.Dispose();
            _label?.Dispose();
            _tick?.Dispose();
        }
    }
}
