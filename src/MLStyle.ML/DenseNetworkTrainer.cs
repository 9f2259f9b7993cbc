using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using MLStyle.ML.Internal;
using MLStyle.Onnx;
using MLStyle.Runtime;

namespace MLStyle.ML;

/// <summary>One epoch of <see cref="DenseNetworkTrainer"/> training.</summary>
/// <param name="Epoch">Epoch number, from 1.</param>
/// <param name="TrainingLoss">Mean cross-entropy over the epoch's minibatches (without the L2 term).</param>
/// <param name="ValidationLoss">Cross-entropy on the validation rows, or null without validation.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation rows, or null without validation.</param>
/// <param name="Elapsed">Time since training started.</param>
public sealed record DenseNetworkEpoch(int Epoch, float TrainingLoss, float? ValidationLoss, float? ValidationAccuracy, TimeSpan Elapsed);

/// <summary>
/// Trains a multilayer perceptron for multiclass classification: fully connected ReLU layers and a softmax output,
/// minimising cross-entropy with minibatch Adam and L2 regularisation, with early stopping on held-out rows. Gradients come
/// from MLStyle's differentiation of the network's ONNX graph, run by ONNX Runtime.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Trainer Characteristics
/// |  |  |
/// | -- | -- |
/// | Machine learning task | Multiclass classification |
/// | Is normalization required? | No: features are standardised inside the network (mean 0, variance 1 on the training rows) unless `NormalizeFeatures` is false |
/// | Is caching required? | No: the rows are read once into memory |
/// | Required NuGet in addition to Microsoft.ML | MLStyle.ML (Microsoft.ML.OnnxTransformer) |
/// | Exportable to ONNX | Yes: `DenseNetworkTransformer.ExportOnnx` |
///
/// ### Input and Output Columns
/// The label column must be a [key](xref:Microsoft.ML.Data.KeyDataViewType) (use `MapValueToKey`) and the feature column a
/// known-size vector of `Single`. The trainer adds `Score` (`Vector<Single, K>`, the class probabilities) and `PredictedLabel`
/// (a key with the label's key values), so `MulticlassClassification.Evaluate` and `MapKeyToValue` work as with ML.NET's trainers.
///
/// ### Training Algorithm Details
/// Weights are initialised with He initialisation from `Seed`. Each epoch shuffles the training rows and takes Adam steps
/// (β₁ = 0.9, β₂ = 0.999) on minibatches; the gradient of the mean cross-entropy is computed by an ONNX graph that MLStyle's
/// differentiator derives from the forward graph (weights as graph inputs), and L2 regularisation adds λ·W to the weights'
/// gradients. With `ValidationFraction` > 0 a random part of the rows is held out, the validation loss is computed after
/// every epoch, training stops after `EarlyStoppingPatience` epochs without improvement, and the weights of the best epoch are kept.
/// Rows with a missing label or non-finite features are skipped.
/// ]]></format>
/// </remarks>
/// <seealso cref="MLStyleCatalog.DenseNetwork(MulticlassClassificationCatalog.MulticlassClassificationTrainers, Options)"/>
public sealed class DenseNetworkTrainer : IEstimator<DenseNetworkTransformer>
{
    /// <summary>Options of <see cref="DenseNetworkTrainer"/>.</summary>
    public sealed class Options
    {
        /// <summary>The label column, a key (default <c>Label</c>).</summary>
        public string LabelColumnName { get; set; } = "Label";

        /// <summary>The feature column, a known-size vector of Single (default <c>Features</c>).</summary>
        public string FeatureColumnName { get; set; } = "Features";

        /// <summary>Sizes of the hidden ReLU layers (default one layer of 64 units; empty: softmax regression).</summary>
        public int[] HiddenLayerSizes { get; set; } = { 64 };

        /// <summary>Maximum number of passes over the training rows (default 100).</summary>
        public int Epochs { get; set; } = 100;

        /// <summary>Rows per minibatch (default 32).</summary>
        public int BatchSize { get; set; } = 32;

        /// <summary>Adam learning rate (default 0.001).</summary>
        public float LearningRate { get; set; } = 1e-3f;

        /// <summary>L2 regularisation strength λ on the weights, not the biases (default 1e-4).</summary>
        public float L2Regularization { get; set; } = 1e-4f;

        /// <summary>Fraction of rows held out for early stopping (default 0.1; 0 trains on all rows for all epochs).</summary>
        public float ValidationFraction { get; set; } = 0.1f;

        /// <summary>Stop after this many epochs without a lower validation loss (default 10; 0 never stops early).</summary>
        public int EarlyStoppingPatience { get; set; } = 10;

        /// <summary>Random seed of initialisation, shuffling and the validation split (default 0).</summary>
        public int Seed { get; set; }

        /// <summary>Standardise features inside the network (default true).</summary>
        public bool NormalizeFeatures { get; set; } = true;

        /// <summary>Receives every epoch's losses while training (default none).</summary>
        public IProgress<DenseNetworkEpoch>? Progress { get; set; }

        internal void Validate()
        {
            if (string.IsNullOrWhiteSpace(LabelColumnName)) throw new ArgumentException("LabelColumnName is empty");
            if (string.IsNullOrWhiteSpace(FeatureColumnName)) throw new ArgumentException("FeatureColumnName is empty");
            if (HiddenLayerSizes is null || HiddenLayerSizes.Any(h => h < 1)) throw new ArgumentOutOfRangeException(nameof(HiddenLayerSizes), "hidden layer sizes must be positive");
            if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), $"Epochs {Epochs} must be at least 1");
            if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"BatchSize {BatchSize} must be at least 1");
            if (!(LearningRate > 0) || !float.IsFinite(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), $"LearningRate {LearningRate} must be positive");
            if (!(L2Regularization >= 0) || !float.IsFinite(L2Regularization)) throw new ArgumentOutOfRangeException(nameof(L2Regularization), $"L2Regularization {L2Regularization} must be 0 or more");
            if (!(ValidationFraction >= 0 && ValidationFraction < 1)) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), $"ValidationFraction {ValidationFraction} must be in [0, 1)");
            if (EarlyStoppingPatience < 0) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), "EarlyStoppingPatience must be 0 or more");
        }
    }

    /// <summary>The score column the trainer adds.</summary>
    public const string ScoreColumnName = "Score";

    /// <summary>The predicted-label column the trainer adds.</summary>
    public const string PredictedLabelColumnName = "PredictedLabel";

    readonly object _catalog;
    readonly Options _options;

    internal DenseNetworkTrainer(object catalog, Options options)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
    }

    /// <summary>Trains the network on <paramref name="input"/> (holding out <see cref="Options.ValidationFraction"/> of it for
    /// early stopping) and returns the scoring transformer.</summary>
    public DenseNetworkTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>
    /// Trains the network on all rows of <paramref name="trainData"/>, with <paramref name="validationData"/> for the validation
    /// loss and early stopping (instead of <see cref="Options.ValidationFraction"/>), as ML.NET's trainers that take a
    /// validation set do.
    /// </summary>
    /// <param name="trainData">The training rows.</param>
    /// <param name="validationData">The validation rows (same columns; null: hold out <see cref="Options.ValidationFraction"/>).</param>
    public DenseNetworkTransformer Fit(IDataView trainData, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        var input = trainData;
        var o = _options;
        var (dim, classes) = CheckColumns(input.Schema);
        var labels = ClassLabels.FromKeyValues(input.Schema[o.LabelColumnName], classes);
        var (x, y) = DenseNetworkData.ReadRows(input, o.FeatureColumnName, o.LabelColumnName, dim);
        int n = y.Length;
        if (n == 0) throw new InvalidOperationException($"no usable rows: every row has a missing '{o.LabelColumnName}' or non-finite '{o.FeatureColumnName}'");

        var rng = new Random(o.Seed);
        var order = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(order);
        int[] validRows, trainRows;
        if (validationData is not null)
        {
            var (vdim, vclasses) = CheckColumns(validationData.Schema);
            if (vdim != dim || vclasses != classes)
                throw new ArgumentException($"the validation data has {vdim} features and {vclasses} classes, the training data {dim} and {classes}", nameof(validationData));
            var (vx, vy) = DenseNetworkData.ReadRows(validationData, o.FeatureColumnName, o.LabelColumnName, dim);
            if (vy.Length == 0) throw new ArgumentException("the validation data has no usable rows", nameof(validationData));
            x = [.. x, .. vx];
            y = [.. y, .. vy];
            trainRows = order;
            validRows = Enumerable.Range(n, vy.Length).ToArray();
            n = y.Length;
        }
        else
        {
            int validation = o.ValidationFraction > 0 ? Math.Min(n - 1, (int)Math.Round(n * o.ValidationFraction)) : 0;
            validRows = order[..validation];
            trainRows = order[validation..];
        }

        var (mean, invStd) = o.NormalizeFeatures ? DenseNetworkData.Standardisation(x, trainRows, dim) : (new float[dim], Enumerable.Repeat(1f, dim).ToArray());
        var z = new float[x.Length];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < dim; j++) z[r * dim + j] = (x[r * dim + j] - mean[j]) * invStd[j];

        var sizes = new[] { dim }.Concat(o.HiddenLayerSizes).Append(classes).ToArray();
        var network = new DenseNetwork(sizes, mean, invStd, labels.Names);
        network.Initialise(rng);
        var settings = MLContextDeviceExtensions.SettingsFor(_catalog);
        var (history, best, elapsed) = DenseNetworkTraining.Train(network, o, z, y, trainRows, validRows, settings, rng);

        var chain = BuildChain(network, labels, settings, input);
        return new DenseNetworkTransformer(chain, network, o.FeatureColumnName, history, best, elapsed);
    }

    (int Dim, int Classes) CheckColumns(DataViewSchema schema)
    {
        var o = _options;
        var f = SchemaChecks.FloatVector(schema, o.FeatureColumnName, "known-size vector of Single", "feature");
        var l = SchemaChecks.Find(schema, o.LabelColumnName, "label");
        if (l.Type is not KeyDataViewType key || key.RawType != typeof(uint))
            throw SchemaChecks.Mismatch("label", o.LabelColumnName, "Key<UInt32> (use MapValueToKey)", l.Type.ToString());
        if (key.Count < 2 || key.Count > 1_000_000) throw SchemaChecks.Mismatch("label", o.LabelColumnName, "a key with at least 2 values", l.Type.ToString());
        return (f.Size, (int)key.Count);
    }

    TransformerChain<ITransformer> BuildChain(DenseNetwork net, ClassLabels labels, SessionSettings settings, IDataView input)
    {
        var o = _options;
        var ml = new MLContext(o.Seed);
        ml.SetOnnxSessionOption(new OnnxSessionOptions { CreateSessionOptions = () => SessionFactory.CreateOptions(settings) });
        var t = ml.Transforms;
        var onnx = OnnxModels.ToBytes(net.InferenceGraph(o.FeatureColumnName, forPipeline: true));
        var pipeline = new EstimatorChain<ITransformer>()
            .Append<ITransformer>(t.ApplyOnnxModel(new[] { ScoreColumnName }, new[] { o.FeatureColumnName }, new MemoryStream(onnx, writable: false),
                shapeDictionary: null, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100))
            .Append<ITransformer>(t.CustomMapping<ArgMaxFactory.Input, ArgMaxFactory.Output>(ArgMaxFactory.Map, ArgMaxFactory.ContractName));
        return OnnxChain.Fit(labels.AppendPredictedLabel(ml, pipeline, ArgMaxFactory.IndexColumn, PredictedLabelColumnName), input);
    }

    /// <summary>Checks the label and feature columns and adds Score and PredictedLabel.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var o = _options;
        SchemaChecks.CheckFloatVector(inputSchema, o.FeatureColumnName, "known-size vector of Single", "feature");
        var label = SchemaChecks.Find(inputSchema, o.LabelColumnName, "label");
        if (!label.IsKey) throw SchemaChecks.Mismatch("label", o.LabelColumnName, "Key<UInt32> (use MapValueToKey)", SchemaChecks.Describe(label));
        var keyValues = label.Annotations.FirstOrDefault(a => a.Name == "KeyValues").ItemType?.RawType;
        return SchemaTemplates.WithClassifier(inputSchema, ScoreColumnName, PredictedLabelColumnName, keyValues);
    }
}
