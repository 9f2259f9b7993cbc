using System.Diagnostics;
using System.Globalization;
using MLStyle.Engines;
using MLStyle.Imaging;

namespace MLStyle.Cli.Commands;

/// <summary>
/// <c>mlstyle bench quality</c>: stylises every content × style pair at the given sizes with the stylize options given, measures
/// each result with <see cref="StyleQuality"/> (style ratio per stage, content ratio, grid and stripe peaks), and writes a table and a
/// contact sheet (content, style, one result per size on each row).
/// </summary>
public sealed class BenchQualityCommand : Command<BenchQualityCommand.Settings>
{
    /// <summary>Options of <c>mlstyle bench quality</c>: those of stylize, plus:</summary>
    public sealed class Settings : StyleTransferSettings
    {
        [CommandOption("-c|--content <IMAGES>")]
        [Description("Required. Content photos: a directory or comma-separated files.")]
        public string Content { get; init; } = "";

        [CommandOption("--sizes <SIZES>")]
        [Description("Long sides to run at (default 256,512).")]
        public string Sizes { get; init; } = "256,512";

        [CommandOption("--out <DIR>")]
        [Description("Where the results go (CONTENT-STYLE-SIZE.png); default quality-results.")]
        public string Out { get; init; } = "quality-results";

        [CommandOption("--reuse")]
        [Description("Measure a result already in --out instead of making it again.")]
        public bool Reuse { get; init; }

        [CommandOption("--markdown <FILE>")]
        [Description("Write the table as Markdown.")]
        public string? Markdown { get; init; }

        [CommandOption("--sheet <IMAGE>")]
        [Description("Write a contact sheet: content, style and the result at each size, one pair per row.")]
        public string? Sheet { get; init; }

        [CommandOption("--cell <PIXELS>")]
        [Description("Long side of each contact-sheet cell (default 256).")]
        public int Cell { get; init; } = 256;

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (RequiredOptions.Missing((Content, "--content")) is { } missing) return missing;
            if (Cell < 16) return ValidationResult.Error("--cell must be at least 16");
            return base.Validate();
        }
    }

    static readonly string[] ImageExtensions = { ".jpg", ".jpeg", ".png", ".bmp", ".webp" };

    static IReadOnlyList<string> Images(string spec, string option)
    {
        if (Directory.Exists(spec))
        {
            var files = Directory.GetFiles(spec).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .OrderBy(f => f, StringComparer.Ordinal).ToList();
            return files.Count > 0 ? files : throw new MLStyleException($"{option}: no images in '{spec}'");
        }
        var list = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var f in list) if (!File.Exists(f)) throw new MLStyleException($"{option}: '{f}' does not exist");
        return list;
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var contents = Images(s.Content, "--content");
        var styles = Images(s.Style, "--style");
        var sizes = BackboneSettings.Ints(s.Sizes, "--sizes");
        var baseOptions = s.Options(1);
        foreach (var size in sizes) (baseOptions with { Size = size, Scales = null }).Validate(1);
        if (s.Markdown is not null && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(s.Markdown))))
            throw new MLStyleException($"output directory of '{s.Markdown}' does not exist");
        if (s.Sheet is not null) OutputPaths.CheckWritable(s.Sheet, imageOutput: true);
        string?[] inputs = [.. contents, .. styles, OutputPaths.ModelFile(s.Model)];
        OutputPaths.CheckRun(inputs, (s.Markdown, "--markdown"), (s.Sheet, "--sheet"));
        Directory.CreateDirectory(s.Out);

        var load = new ImageLoadOptions { MaxPixels = s.MaxPixels };
        var backbone = s.Backbone();
        var engine = new StyleTransferEngine(backbone, s.Session());
        using var quality = new StyleQuality(settings: s.Session());
        var rows = new List<Row>();
        var sheet = new List<ImageTensor>();
        Output.Info($"bench quality: {contents.Count} contents x {styles.Count} styles at {string.Join(",", sizes)} px on {backbone.Name}");
        foreach (var contentPath in contents)
        {
            var content = ImageIO.Load(contentPath, load);
            foreach (var stylePath in styles)
            {
                var style = ImageIO.Load(stylePath, load);
                sheet.Add(content); sheet.Add(style);
                foreach (var size in sizes)
                {
                    cancel.ThrowIfCancellationRequested();
                    var name = $"{Path.GetFileNameWithoutExtension(contentPath)}-{Path.GetFileNameWithoutExtension(stylePath)}-{size}.png";
                    var path = Path.Combine(s.Out, name);
                    // With --scales the run goes coarse to fine up to this size: the scales below it, then the size itself.
                    var scales = baseOptions.Scales is { Count: > 0 } sc ? sc.Where(v => v < size).Append(size).ToList() : null;
                    var options = baseOptions with { Size = size, Scales = scales };
                    ImageTensor result;
                    double seconds = double.NaN;
                    if (s.Reuse && File.Exists(path)) result = ImageIO.Load(path, load);
                    else
                    {
                        OutputPaths.CheckRun(inputs, (path, "--out"), (s.Markdown, "--markdown"), (s.Sheet, "--sheet"));
                        var sw = Stopwatch.StartNew();
                        result = engine.Run(content, new[] { style }, options, cancel: cancel).Image;
                        seconds = sw.Elapsed.TotalSeconds;
                        ImageIO.Save(result, path);
                    }
                    var m = quality.Measure(result, content, style);
                    var row = new Row(Path.GetFileNameWithoutExtension(contentPath), Path.GetFileNameWithoutExtension(stylePath), size, m, seconds);
                    rows.Add(row);
                    sheet.Add(result);
                    Output.Info($"  {row.Content} x {row.Style} @{size}: style {string.Join(" ", m.StyleRatios.Select(F))} (overall {F(m.OverallStyleRatio)}), " +
                                $"content {F(m.ContentRatio)}, grid {m.GridPeak:F2}, stripes {m.StripePeak:F2}{(double.IsNaN(seconds) ? "" : $", {seconds:F0} s")}");
                }
            }
        }

        var header = new[] { "content", "style", "size" }.Concat(quality.Stages.Select(l => $"style {l}"))
            .Concat(new[] { "style overall", "content", "grid", "stripes", "seconds" }).ToArray();
        Benchmarks.Write(s.Markdown, [(header, rows.Select(r => r.Cells().ToArray()).ToList())], Summary(rows, sizes, quality.Stages).ToList());
        if (s.Sheet is not null)
        {
            ImageIO.Save(StyleQuality.Sheet(sheet, 2 + sizes.Count, s.Cell), s.Sheet, jpegQuality: 90);
            Console.WriteLine($"wrote {s.Sheet}");
        }
        return ExitCodes.Ok;
    }

    static string F(double v) => v.ToString(v < 0.1 ? "F3" : "F2", CultureInfo.InvariantCulture);

    /// <summary>Per size: the worst pair for each measure.</summary>
    static IEnumerable<string> Summary(IReadOnlyList<Row> rows, IReadOnlyList<int> sizes, IReadOnlyList<string> stages)
    {
        foreach (var size in sizes)
        {
            var at = rows.Where(r => r.Size == size).ToList();
            if (at.Count == 0) continue;
            var style = at.MaxBy(r => r.M.WorstStyleRatio)!;
            var stage = stages[style.M.StyleRatios.ToList().IndexOf(style.M.WorstStyleRatio)];
            var content = at.MaxBy(r => r.M.ContentRatio)!;
            var grid = at.MaxBy(r => r.M.GridPeak)!;
            var stripes = at.MaxBy(r => r.M.StripePeak)!;
            yield return $"worst at {size} px: style {F(style.M.WorstStyleRatio)} ({stage}, {style.Content} x {style.Style}), " +
                         $"content {F(content.M.ContentRatio)} ({content.Content} x {content.Style}), grid {grid.M.GridPeak:F2} ({grid.Content} x {grid.Style}), " +
                         $"stripes {stripes.M.StripePeak:F2} ({stripes.Content} x {stripes.Style})" +
                         (Median(at.Select(r => r.Seconds)) is var m && !double.IsNaN(m) ? $"; median seconds {m:F0}" : "");
        }
    }

    static double Median(IEnumerable<double> v)
    {
        var a = v.Where(x => !double.IsNaN(x)).OrderBy(x => x).ToArray();
        return a.Length == 0 ? double.NaN : a[a.Length / 2];
    }

    sealed record Row(string Content, string Style, int Size, StyleQualityReport M, double Seconds)
    {
        public IEnumerable<string> Cells() => new[] { Content, Style, Size.ToString(CultureInfo.InvariantCulture) }
            .Concat(M.StyleRatios.Select(F))
            .Concat(new[] { F(M.OverallStyleRatio), F(M.ContentRatio), M.GridPeak.ToString("F2", CultureInfo.InvariantCulture),
                M.StripePeak.ToString("F2", CultureInfo.InvariantCulture),
                double.IsNaN(Seconds) ? "" : Seconds.ToString("F0", CultureInfo.InvariantCulture) });
    }
}
