// Handwritten digits (UCI Optdigits, 8×8 images, 1797 rows; samples/data/digits.csv.gz) with MLStyle's DenseNetwork
// beside ML.NET's LbfgsMaximumEntropy and SdcaMaximumEntropy on the same split.
//
//   dotnet run --project samples/Digits -c Release [-- --export digits.onnx]
using System.Diagnostics;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.ML;

var exportPath = args.SkipWhile(a => a != "--export").Skip(1).FirstOrDefault();
var dataFile = FindSample("data", "digits.csv.gz");
var ml = new MLContext(seed: 1);
var rows = ReadDigits(dataFile).ToList();
var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(rows), testFraction: 0.25, seed: 1);
Console.WriteLine($"{rows.Count} digits from {dataFile}: {split.TrainSet.GetRowCount() ?? ml.Data.CreateEnumerable<DigitRow>(split.TrainSet, false).Count()} for training, the rest for testing");

var prepare = ml.Transforms.Conversion.MapValueToKey("Label", nameof(DigitRow.Digit));
var trainers = new (string Name, IEstimator<ITransformer> Trainer)[]
{
    ("MLStyle DenseNetwork (64 ReLU, Adam)", ml.MulticlassClassification.Trainers.DenseNetwork(new DenseNetworkTrainer.Options
    {
        HiddenLayerSizes = new[] { 64 }, Epochs = 200, L2Regularization = 1e-3f, Seed = 1, Progress = new EpochPrinter(),
    })),
    ("ML.NET LbfgsMaximumEntropy", ml.Transforms.NormalizeMinMax("Features").Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy())),
    ("ML.NET SdcaMaximumEntropy", ml.Transforms.NormalizeMinMax("Features").Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy())),
};
Console.WriteLine();
Console.WriteLine($"{"trainer",-40} {"accuracy",9} {"log-loss",9} {"train s",8}");
foreach (var (name, trainer) in trainers)
{
    var sw = Stopwatch.StartNew();
    var model = prepare.Append(trainer).Fit(split.TrainSet);
    var seconds = sw.Elapsed.TotalSeconds;
    var metrics = ml.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
    Console.WriteLine($"{name,-40} {metrics.MicroAccuracy,9:P2} {metrics.LogLoss,9:F4} {seconds,8:F1}");
    if (model.LastTransformer is DenseNetworkTransformer network)
    {
        var zip = Path.Combine(Path.GetTempPath(), "digits-dense-network.zip");
        ml.Model.Save(model, split.TrainSet.Schema, zip);
        Console.WriteLine($"  best epoch {network.BestEpoch} of {network.History.Count}; saved model {new FileInfo(zip).Length / 1024.0:F0} KB ({zip})");
        if (exportPath is not null)
        {
            network.ExportOnnx(exportPath);
            Console.WriteLine($"  exported the network to {exportPath} ({new FileInfo(exportPath).Length / 1024.0:F0} KB)");
        }
    }
}

static IEnumerable<DigitRow> ReadDigits(string path)
{
    using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
    using var reader = new StreamReader(gz);
    while (reader.ReadLine() is { } line)
    {
        var v = line.Split(',').Select(s => float.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        yield return new DigitRow { Features = v[..64], Digit = (int)v[64] };
    }
}

static string FindSample(params string[] parts)
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        var p = Path.Combine(new[] { d.FullName, "samples" }.Concat(parts).ToArray());
        if (File.Exists(p)) return p;
    }
    throw new FileNotFoundException($"samples/{string.Join('/', parts)} not found above {AppContext.BaseDirectory}");
}

sealed class EpochPrinter : IProgress<DenseNetworkEpoch>
{
    public void Report(DenseNetworkEpoch e)
    {
        if (e.Epoch % 10 == 0)
            Console.WriteLine($"  epoch {e.Epoch,3}: training loss {e.TrainingLoss:F4}, validation loss {e.ValidationLoss:F4}, validation accuracy {e.ValidationAccuracy:P1}, {e.Elapsed.TotalSeconds:F1} s");
    }
}

sealed class DigitRow
{
    [VectorType(64)] public float[] Features { get; set; } = new float[64];
    public int Digit { get; set; }
}
