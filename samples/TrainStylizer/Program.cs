// Trains a feed-forward styliser inside an ML.NET pipeline and stylises the same photos with it:
//   LoadImages → ResizeImages → ExtractPixels → StylizeImages (Fit trains the styliser) → write the Stylized image column.
//
//   dotnet run --project samples/TrainStylizer -c Release       # samples/content + samples/textures, style samples/style/swirls.png, 200 iterations
//   dotnet run --project samples/TrainStylizer -c Release -- --content photos,more --style painting.jpg --output out --iterations 1000 --minutes 30
//
// Writes OUTPUT/*.png (the stylised rows), OUTPUT/stylizer.onnx (for `mlstyle apply`, ApplyStylizer or any ONNX runtime) and
// OUTPUT/pipeline.zip (the fitted ML.NET pipeline: load it with mlContext.Model.Load and it stylises in one forward pass).
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLStyle.ML;

string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
try
{
    var folders = Arg("--content", FindSample("content") + "," + FindSample("textures")).Split(',', StringSplitOptions.RemoveEmptyEntries);
    var style = Arg("--style", Path.Combine(FindSample("style"), "swirls.png"));
    var output = Arg("--output", Path.Combine("out", "trained"));
    int size = int.Parse(Arg("--size", "256"));
    int iterations = int.Parse(Arg("--iterations", "200"));
    double minutes = double.Parse(Arg("--minutes", "0"), System.Globalization.CultureInfo.InvariantCulture);
    Directory.CreateDirectory(output);

    var ml = new MLContext(seed: 1);
    ml.UseOnnxDevice(Arg("--device", "cpu"));
    var images = folders.SelectMany(folder => Directory.Exists(folder) ? Directory.EnumerateFiles(folder) : throw new ArgumentException($"content folder '{folder}' does not exist"))
        .Where(f => new[] { ".png", ".jpg", ".jpeg", ".bmp", ".webp" }.Contains(Path.GetExtension(f).ToLowerInvariant()))
        .OrderBy(f => f, StringComparer.Ordinal).Select(f => new ImageFile { Path = Path.GetFullPath(f) }).ToList();
    var data = ml.Data.LoadFromEnumerable(images);

    var pipeline = ml.Transforms.LoadImages("Image", "", "Path")
        .Append(ml.Transforms.ResizeImages("Image", size, size, resizing: ImageResizingEstimator.ResizingKind.IsoCrop))
        .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
        .Append(ml.Transforms.StylizeImages("Stylized", "Pixels", new StylizerTrainingEstimator.Options
        {
            StyleImage = style,
            CropSize = 128,
            Iterations = iterations,
            TimeLimit = minutes > 0 ? TimeSpan.FromMinutes(minutes) : null,
            SaveStylizerTo = Path.Combine(output, "stylizer.onnx"),
        }));
    var sw = Stopwatch.StartNew();
    var model = pipeline.Fit(data);   // trains the styliser on random crops of the rows' images
    Console.WriteLine($"trained on {images.Count} images with {Path.GetFileName(style)} in {sw.Elapsed.TotalMinutes:F1} min; wrote {Path.Combine(output, "stylizer.onnx")}");
    ml.Model.Save(model, data.Schema, Path.Combine(output, "pipeline.zip"));

    sw.Restart();
    var result = model.Transform(data);
    var paths = result.GetColumn<string>("Path").ToList();
    var stylised = result.GetColumn<MLImage>("Stylized").ToList();
    for (int i = 0; i < paths.Count; i++)
    {
        var target = Path.Combine(output, Path.GetFileNameWithoutExtension(paths[i]) + ".png");
        stylised[i].Save(target);
        stylised[i].Dispose();
    }
    Console.WriteLine($"stylised {paths.Count} images in {sw.Elapsed.TotalSeconds:F1} s into {output}");
    return 0;
}
catch (Exception e) when (e is ArgumentException or IOException or MLStyle.MLStyleException or InvalidOperationException or FormatException)
{
    Console.Error.WriteLine($"error: {e.Message.Split('\n')[0]}");
    return 2;
}

static string FindSample(string folder)
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        var p = Path.Combine(d.FullName, "samples", folder);
        if (Directory.Exists(p)) return p;
    }
    throw new DirectoryNotFoundException($"samples/{folder} not found above {AppContext.BaseDirectory}");
}

sealed class ImageFile
{
    public string Path { get; set; } = "";
}
