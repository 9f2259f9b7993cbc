// A fresh consumer of the MLStyle.ML package (scripts/pack-and-consume.sh builds it against a local feed): style
// descriptors of image files, a DenseNetwork trained on them with a validation set, and permutation feature importance.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.ML;

if (args.Length < 4) { Console.Error.WriteLine("usage: consumer IMAGE… (at least 4)"); return 2; }
var ml = new MLContext(seed: 0);
// Ask for CUDA: on a machine without a usable GPU, or with the CPU runtime, this gives one warning and the CPU.
var warnings = 0;
ml.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning && e.Message.Contains("CUDA")) { warnings++; Console.WriteLine($"warning: {e.Message}"); } };
var device = ml.UseOnnxDevice("cuda");
Console.WriteLine($"device: {device}");
if (!device.IsCuda && warnings != 1) { Console.Error.WriteLine($"error: expected one CUDA warning, got {warnings}"); return 1; }
var rows = args.Select(p => new ImageRow { Path = Path.GetFullPath(p), Label = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(p)))! }).ToArray();
var data = ml.Data.LoadFromEnumerable(rows);

var featurize = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "Path")
    .Append(ml.Transforms.ResizeImages("Image", imageWidth: 48, imageHeight: 48))
    .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
    .Append(ml.Transforms.ExtractStyleFeatures("Features", "Pixels",
        new StyleFeatureExtractingEstimator.Options { Layers = new[] { "conv1" } }))
    .Append(ml.Transforms.Conversion.MapValueToKey("Label"));
var features = ml.Data.Cache(featurize.Fit(data).Transform(data));
var length = ((VectorDataViewType)features.Schema["Features"].Type).Size;
Console.WriteLine($"style features: {rows.Length} images x {length} values");

var trainer = ml.MulticlassClassification.Trainers.DenseNetwork(hiddenLayerSizes: new[] { 8 }, epochs: 30);
var network = trainer.Fit(features, validationData: features);
var metrics = ml.MulticlassClassification.Evaluate(network.Transform(features));
Console.WriteLine($"dense network: {network.History.Count} epochs, training accuracy {metrics.MicroAccuracy:F2}");

var importance = ml.MulticlassClassification.PermutationFeatureImportance(network, features, permutationCount: 1);
var top = importance.Select((m, i) => (Slot: i, Drop: m.MicroAccuracy.Mean)).OrderBy(t => t.Drop).First();
Console.WriteLine($"permutation feature importance: {importance.Length} slots, most important slot {top.Slot} (accuracy change {top.Drop:F3})");
if (importance.Length != length) { Console.Error.WriteLine("error: PFI did not score every feature"); return 1; }
return 0;

sealed class ImageRow
{
    public string Path { get; set; } = "";
    public string Label { get; set; } = "";
}
