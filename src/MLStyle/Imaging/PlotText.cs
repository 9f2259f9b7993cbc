#nullable enable
using SkiaSharp;

namespace MLStyle.Imaging;

/// <summary>The roles of text in a plot, each with its size.</summary>
internal enum TextRole { Title, Label, Tick }

/// <summary>
/// Text of plots in the embedded DejaVu Sans (a subset of the free DejaVu fonts, <c>Imaging/Fonts</c>), so labels render the
/// same on every machine, with or without installed fonts.
/// </summary>
internal sealed class PlotText : IDisposable
{
    const string Resource = "MLStyle.Imaging.Fonts.DejaVuSans.ttf";

    static readonly Lazy<SKTypeface> Font = new(() =>
    {
        using var stream = typeof(PlotText).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"the plot font '{Resource}' is not embedded");
        return SKTypeface.FromStream(stream) ?? throw new InvalidOperationException("the embedded plot font could not be read");
    });

    readonly SKPaint _title = MakePaint(20), _label = MakePaint(15), _tick = MakePaint(13);

    /// <summary>The embedded typeface.</summary>
    public static SKTypeface Typeface => Font.Value;

    static SKPaint MakePaint(float size) =>
        new() { Typeface = Font.Value, TextSize = size, IsAntialias = true, SubpixelText = true, Color = SKColors.Black };

    SKPaint Paint(TextRole role) => role switch { TextRole.Title => _title, TextRole.Label => _label, _ => _tick };

    /// <summary>The advance width of <paramref name="s"/>.</summary>
    public float Measure(string s, TextRole role) => Paint(role).MeasureText(s);

    /// <summary>The height of capital letters.</summary>
    public float Height(TextRole role)
    {
        var m = Paint(role).FontMetrics;
        return m.CapHeight > 0 ? m.CapHeight : -m.Ascent * 0.75f;
    }

    /// <summary>Draws with the top of capital letters at <paramref name="top"/>.</summary>
    public void Draw(SKCanvas canvas, string s, float x, float top, SKColor color, TextRole role)
    {
        if (string.IsNullOrEmpty(s)) return;
        var p = Paint(role);
        p.Color = color;
        canvas.DrawText(s, x, top + Height(role), p);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _title.Dispose();
        _label.Dispose();
        _tick.Dispose();
    }
}
