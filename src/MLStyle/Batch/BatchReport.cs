using MLStyle.Files;
using System.Globalization;
using System.Net;
using System.Text;
using MLStyle.Imaging;
using SkiaSharp;

namespace MLStyle.Batch;

/// <summary>Small JPEG thumbnails for reports.</summary>
internal static class Thumbnails
{
    /// <summary>Encodes <paramref name="image"/> shrunk to <paramref name="longSide"/> pixels (never enlarged) as a JPEG.</summary>
    public static byte[] Jpeg(ImageTensor image, int longSide, int quality = 85)
    {
        ArgumentNullException.ThrowIfNull(image);
        var small = Math.Max(image.Width, image.Height) > longSide ? ImageIO.ResizeToLongSide(image, longSide) : image;
        using var bitmap = small.ToBitmap();
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality)
                         ?? throw new MLStyleException("the JPEG encoder failed on a thumbnail");
        return data.ToArray();
    }

    /// <summary>A thumbnail of an image file, or null when <paramref name="longSide"/> is 0 or the file cannot be read.</summary>
    public static byte[]? OfFile(string path, int longSide, ImageLoadOptions? load = null)
    {
        if (longSide <= 0 || !File.Exists(path)) return null;
        try
        {
            return Jpeg(ImageIO.Load(path, load ?? new ImageLoadOptions()), longSide);
        }
        catch (MLStyleException)
        {
            return null;
        }
    }
}

/// <summary>
/// A self-contained HTML report of a batch: a summary, the images that failed to load with their reasons, then one row per
/// processed image with before/after thumbnails (embedded base64 JPEGs), the final losses, and the loss curves (an
/// embedded PNG drawn by <see cref="LossPlot"/>).
/// </summary>
public static class BatchReport
{
    /// <summary>Writes the report atomically.</summary>
    /// <param name="path">The HTML file; its directory must exist.</param>
    /// <param name="summary">The batch's result (run with <see cref="BatchOptions.ThumbnailSize"/> set for thumbnails).</param>
    /// <param name="title">The report's title, e.g. the command line.</param>
    /// <exception cref="MLStyleException">The file cannot be written.</exception>
    public static void Write(string path, BatchSummary summary, string title) =>
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(Render(summary, title)));

    /// <summary>Renders the report as an HTML document.</summary>
    public static string Render(BatchSummary summary, string title)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(Html(title)).Append("</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}")
          .Append("td,th{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left}img{display:block}img.thumb{width:140px;height:140px;object-fit:contain;background:#f4f4f4}")
          .Append(".failed{color:#b00020}.skipped{color:#777}.ok{color:#1b5e20}code{font-size:90%;overflow-wrap:anywhere}")
          .Append("</style></head><body>\n");
        sb.Append("<h1>").Append(Html(title)).Append("</h1>\n<p>");
        sb.Append(inv, $"{summary.Total} images: <b>{summary.Done} done</b>, {summary.Skipped} skipped (done earlier), ");
        sb.Append(inv, $"<span class=\"failed\">{summary.Failed} failed</span>");
        if (summary.Abandoned + summary.NotStarted > 0)
            sb.Append(inv, $", {summary.Abandoned + summary.NotStarted} not done{(summary.Cancelled ? " (cancelled)" : "")}");
        sb.Append(inv, $"; {summary.Elapsed.TotalSeconds:F1} s, {summary.ImagesPerMinute:F1} images per minute.</p>\n");
        var first = summary.Outcomes.FirstOrDefault()?.Entry;
        if (first is not null)
            sb.Append("<p>model <code>").Append(Html($"{first.Model} {first.ModelHash}")).Append("</code>, options hash <code>")
              .Append(Html(first.OptionsHash)).Append("</code>; options <code>").Append(Html(first.Options?.ToJsonString() ?? "")).Append("</code></p>\n");

        var failed = summary.Outcomes.Where(o => o.Status == ManifestStatus.Failed && o.Result is null)
            .OrderBy(o => o.Item.RelativePath, StringComparer.Ordinal).ToList();
        if (failed.Count > 0)
        {
            sb.Append("<h2>Failed</h2>\n<table>\n<tr><th>image</th><th>reason</th></tr>\n");
            foreach (var o in failed)
                sb.Append("<tr><td><code>").Append(Html(o.Entry.Input)).Append("</code></td><td class=\"failed\">").Append(Html(o.Entry.Error ?? ""))
                  .Append("</td></tr>\n");
            sb.Append("</table>\n");
        }

        sb.Append("<h2>Images</h2>\n<table>\n<tr><th>image</th><th>before</th><th>after</th><th>losses</th><th>loss curves</th></tr>\n");
        foreach (var o in summary.Outcomes.Except(failed).OrderBy(o => o.Item.RelativePath, StringComparer.Ordinal))
        {
            var e = o.Entry;
            sb.Append("<tr><td><code>").Append(Html(e.Input)).Append("</code><br><span class=\"").Append(Html(e.Status)).Append("\">")
              .Append(Html(e.Status)).Append("</span>");
            if (e.Seconds is { } sec) sb.Append(inv, $"<br>{sec:F1} s");
            if (e.Error is not null) sb.Append("<br><span class=\"failed\">").Append(Html(e.Error)).Append("</span>");
            sb.Append("</td><td>").Append(Image(o.InputThumbnail, "image/jpeg", "before", "thumb")).Append("</td><td>")
              .Append(Image(o.OutputThumbnail, "image/jpeg", "after", "thumb")).Append("</td><td>");
            if (e.Losses is not null)
                foreach (var (k, v) in e.Losses) sb.Append(inv, $"{Html(k)} {v:G4}<br>");
            if (e.Iterations is { } it) sb.Append(inv, $"{it} iterations");
            sb.Append("</td><td>");
            if ((o.Result?.LossCurves ?? e.LossCurves) is { Count: > 0 } curves && curves.Values.Any(c => c.Count > 1))
                sb.Append(Image(Plot(curves, e.Input), "image/png", "loss curves"));
            sb.Append("</td></tr>\n");
        }
        sb.Append("</table>\n</body></html>\n");
        return sb.ToString();
    }

    static byte[] Plot(IReadOnlyDictionary<string, IReadOnlyList<double>> curves, string title)
    {
        using var bitmap = LossPlot.Render(curves, title, logY: true, new LossPlotOptions { Width = 360, Height = 220 });
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100) ?? throw new MLStyleException("the PNG encoder failed on a loss plot");
        return data.ToArray();
    }

    static string Image(byte[]? bytes, string mime, string alt, string? cssClass = null) =>
        bytes is null ? "—" : $"<img alt=\"{alt}\"{(cssClass is null ? "" : $" class=\"{cssClass}\"")} src=\"data:{mime};base64,{Convert.ToBase64String(bytes)}\">";

    static string Html(string s) => WebUtility.HtmlEncode(s);
}
