// Stylises a folder of images through an ML.NET pipeline:
//   LoadImages → ResizeImages → ExtractPixels → StyleTransfer → write the Stylized image column.
//
//   dotnet run --project samples/StylizeFolder -c Release                     # samples/content → out/stylized, style samples/style/swirls.png
//   dotnet run --project samples/StylizeFolder -c Release -- --content photos --style painting.jpg --output out --size 256 --iterations 100
//   ... -- --save model.zip           # also save the fitted pipeline
//   ... -- --load model.zip           # stylise with a saved pipeline (no style image or backbone needed)
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLStyle.ML;

string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
try
{
    var content = Arg("--content", FindSample("content"));
    var style = Arg("--style", Path.Combine(FindSample("style"), "swirls.png"));
    var output = Arg("--output", Path.Combine("out", "stylized"));
    int size = int.Parse(Arg("--size", "256"));
    int iterations = int.Parse(Arg("--iterations", "100"));
    var save = Arg("--save", "");
    var load = Arg("--load", "");
    if (!Directory.Exists(content)) throw new ArgumentException($"content folder '{content}' does not exist");
    Directory.CreateDirectory(output);

    var ml = new MLContext(seed: 1);
    ml.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning) Console.Error.WriteLine($"warning: {e.Message}"); };
    ml.UseOnnxDevice(Arg("--device", "cpu"));
    var images = Directory.EnumerateFiles(content)
        .Where(f => new[] { ".png", ".jpg", ".jpeg", ".bmp", ".webp" }.Contains(Path.GetExtension(f).ToLowerInvariant()))
        .OrderBy(f => f, StringComparer.Ordinal).Select(f => new ImageFile { Path = Path.GetFileName(f) }).ToList();
    if (images.Count == 0) throw new ArgumentException($"no images in '{content}'");
    var data = ml.Data.LoadFromEnumerable(images);

    var sw = Stopwatch.StartNew();
    ITransformer model;
    if (load.Length > 0)
    {
        // A saved pipeline holds everything: the ONNX graph with the style's Gram matrices and the backbone's weights.
        model = ml.Model.Load(load, out _);
        Console.WriteLine($"loaded {load} ({new FileInfo(load).Length / 1e6:F1} MB) in {sw.Elapsed.TotalSeconds:F1} s");
        // LoadImages keeps the folder it was fitted with; point it at --content.
        model = ml.Transforms.LoadImages("Image", content, "Path").Fit(data).Append(SkipFirst(model));
    }
    else
    {
        var pipeline = ml.Transforms.LoadImages("Image", content, "Path")
            .Append(ml.Transforms.ResizeImages("Image", size, size, resizing: ImageResizingEstimator.ResizingKind.IsoCrop))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.Transforms.StyleTransfer("Stylized", "Pixels",
                new StyleTransferEstimator.Options { StyleImages = { style }, Iterations = iterations }));
        model = pipeline.Fit(data);
        Console.WriteLine($"fitted on {Path.GetFileName(style)} in {sw.Elapsed.TotalSeconds:F1} s ({size}×{size}, {iterations} iterations per image)");
        if (save.Length > 0)
        {
            ml.Model.Save(model, data.Schema, save);
            Console.WriteLine($"saved the pipeline to {save} ({new FileInfo(save).Length / 1e6:F1} MB)");
        }
    }

    // Each row is stylised when the cursor reaches it (one ONNX Runtime call running the whole optimisation).
    var result = model.Transform(data);
    using var cursor = result.GetRowCursor(new[] { result.Schema["Path"], result.Schema["Stylized"] });
    var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(result.Schema["Path"]);
    var getImage = cursor.GetGetter<MLImage>(result.Schema["Stylized"]);
    ReadOnlyMemory<char> path = default;
    MLImage image = null!;
    int done = 0;
    var rowClock = Stopwatch.StartNew();
    while (cursor.MoveNext())
    {
        getPath(ref path);
        getImage(ref image);
        var target = Path.Combine(output, Path.GetFileNameWithoutExtension(path.ToString()) + ".png");
        var tmp = Path.Combine(output, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}.png");
        image.Save(tmp);
        File.Move(tmp, target, overwrite: true);
        image.Dispose();
        done++;
        var perImage = rowClock.Elapsed.TotalSeconds / done;
        Console.WriteLine($"[{done}/{images.Count}] {target} ({perImage:F1} s per image, ETA {perImage * (images.Count - done):F0} s)");
    }
    return 0;
}
catch (Exception e) when (e is ArgumentException or IOException or MLStyle.MLStyleException or InvalidOperationException or FormatException)
{
    Console.Error.WriteLine($"error: {e.Message.Split('\n')[0]}");
    return 2;
}

static ITransformer SkipFirst(ITransformer chain) =>
    new TransformerChain<ITransformer>(((IEnumerable<ITransformer>)chain).Skip(1).ToArray());

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
