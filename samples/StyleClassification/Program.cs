// Texture classification from Gram-matrix style descriptors: 64×64 patches of three CC0 textures (samples/textures: brick,
// grass, gravel), ExtractStyleFeatures → MapValueToKey → DenseNetwork, evaluated on patches from the other half of each image.
//
//   dotnet run --project samples/StyleClassification -c Release
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLStyle.Imaging;
using MLStyle.ML;

const int Patch = PatchRow.Size, Stride = 32;
var folder = FindSample("textures");
var ml = new MLContext(seed: 1);
var classes = new[] { "brick", "grass", "gravel" };

// Patches from the left half of each texture train, patches from the right half test: they never overlap.
var train = new List<PatchRow>();
var test = new List<PatchRow>();
foreach (var name in classes)
{
    var image = ImageIO.Load(Path.Combine(folder, name + ".png"));
    int half = image.Width / 2;
    for (int y = 0; y + Patch <= image.Height; y += Stride)
        for (int x = 0; x + Patch <= image.Width; x += Stride)
        {
            bool left = x + Patch <= half;
            if (!left && x < half) continue; // straddles the middle
            (left ? train : test).Add(new PatchRow { Label = name, Image = Crop(image, x, y) });
        }
}
Console.WriteLine($"{train.Count} training and {test.Count} test patches of {Patch}×{Patch} from {string.Join(", ", classes)} ({folder})");
var trainData = ml.Data.LoadFromEnumerable(train);
var testData = ml.Data.LoadFromEnumerable(test);

var styleOptions = new StyleFeatureExtractingEstimator.Options { Layers = new[] { "conv1", "layer1.1", "layer2.1" } };
var features = ml.Transforms.ExtractPixels("Pixels", "Image")
    .Append(ml.Transforms.ExtractStyleFeatures("Features", "Pixels", styleOptions))
    .Append(ml.Transforms.Conversion.MapValueToKey("Label"));
// Cache descriptors and pixels so the trainers read them once (ExtractPixels releases the source images as it reads them).
var sw = Stopwatch.StartNew();
var featurizer = features.Fit(trainData);
var trainFeatures = ml.Data.Cache(featurizer.Transform(trainData), "Label", "Pixels", "Features");
var testFeatures = ml.Data.Cache(featurizer.Transform(testData), "Label", "Pixels", "Features");
Console.WriteLine($"style descriptors: {trainFeatures.Schema["Features"].Type} per patch, {sw.Elapsed.TotalSeconds:F1} s to set up");

var trainers = new (string Name, IEstimator<ITransformer> Trainer)[]
{
    ("MLStyle DenseNetwork (32 ReLU)", ml.MulticlassClassification.Trainers.DenseNetwork(new DenseNetworkTrainer.Options
        { HiddenLayerSizes = new[] { 32 }, Epochs = 60, Seed = 1, ValidationFraction = 0.15f })),
    ("ML.NET LbfgsMaximumEntropy", ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy()),
    // The same network on the raw pixels instead of the style descriptor, for comparison.
    ("DenseNetwork on raw pixels", ml.MulticlassClassification.Trainers.DenseNetwork(new DenseNetworkTrainer.Options
        { FeatureColumnName = "Pixels", HiddenLayerSizes = new[] { 32 }, Epochs = 60, Seed = 1, ValidationFraction = 0.15f })),
};
Console.WriteLine($"{"trainer",-32} {"accuracy",9} {"log-loss",9} {"train s",8}");
foreach (var (name, trainer) in trainers)
{
    bool first = name == trainers[0].Name;
    sw.Restart();
    var model = trainer.Fit(trainFeatures);
    var seconds = sw.Elapsed.TotalSeconds;
    var metrics = ml.MulticlassClassification.Evaluate(model.Transform(testFeatures));
    Console.WriteLine($"{name,-32} {metrics.MicroAccuracy,9:P2} {metrics.LogLoss,9:F4} {seconds,8:F1}");
    if (first)
    {
        Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
        // The whole pipeline (pixels → style descriptor → network) saves as one ML.NET model.
        var path = Path.Combine(Path.GetTempPath(), "style-classifier.zip");
        ml.Model.Save(featurizer.Append(model), trainData.Schema, path);
        Console.WriteLine($"saved pixels → descriptor → network to {path} ({new FileInfo(path).Length / 1e6:F1} MB)");
    }
}
Console.WriteLine($"classes: {string.Join(", ", classes.Select((c, i) => $"{i} = {c}"))}");

static MLImage Crop(ImageTensor image, int x0, int y0)
{
    var rgba = new byte[Patch * Patch * 4];
    for (int y = 0; y < Patch; y++)
        for (int x = 0; x < Patch; x++)
        {
            int o = (y * Patch + x) * 4;
            for (int c = 0; c < 3; c++) rgba[o + c] = (byte)Math.Clamp(MathF.Round(image[c, y0 + y, x0 + x]), 0, 255);
            rgba[o + 3] = 255;
        }
    return MLImage.CreateFromPixels(Patch, Patch, MLPixelFormat.Rgba32, rgba);
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

sealed class PatchRow
{
    public const int Size = 64;

    public string Label { get; set; } = "";

    [ImageType(Size, Size)]
    public MLImage Image { get; set; } = null!;
}
