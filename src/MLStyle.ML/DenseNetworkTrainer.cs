using System.Diagnostics;
using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using MLStyle.Autodiff;
using MLStyle.ML.Internal;
using MLStyle.Onnx;
using MLStyle.Runtime;
using Onnx;

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
        var labels = ClassNames(input.Schema[o.LabelColumnName], classes);
        var (x, y) = ReadRows(input, dim);
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
            var (vx, vy) = ReadRows(validationData, dim);
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

        var (mean, invStd) = o.NormalizeFeatures ? Standardisation(x, trainRows, dim) : (new float[dim], Enumerable.Repeat(1f, dim).ToArray());
        var z = new float[x.Length];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < dim; j++) z[r * dim + j] = (x[r * dim + j] - mean[j]) * invStd[j];

        var sizes = new[] { dim }.Concat(o.HiddenLayerSizes).Append(classes).ToArray();
        var network = new DenseNetwork(sizes, mean, invStd, labels.Names);
        network.Initialise(rng);
        var settings = MLContextDeviceExtensions.SettingsFor(_catalog);
        var (history, best, elapsed) = Train(network, z, y, trainRows, validRows, settings, rng);

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

    /// <summary>The label's key values (as text for display and export) and how to map a class index back to them.</summary>
    static ClassLabels ClassNames(DataViewSchema.Column label, int classes)
    {
        var ann = label.Annotations.Schema.GetColumnOrNull("KeyValues");
        var type = (ann?.Type as VectorDataViewType)?.ItemType;
        ClassLabels? typed = type switch
        {
            TextDataViewType => ClassLabels.Of(KeyValues<ReadOnlyMemory<char>>(label).Select(v => v.ToString()).ToArray(), classes),
            { RawType: var t } when t == typeof(int) => ClassLabels.Of(KeyValues<int>(label), classes),
            { RawType: var t } when t == typeof(uint) => ClassLabels.Of(KeyValues<uint>(label), classes),
            { RawType: var t } when t == typeof(long) => ClassLabels.Of(KeyValues<long>(label), classes),
            { RawType: var t } when t == typeof(float) => ClassLabels.Of(KeyValues<float>(label), classes),
            { RawType: var t } when t == typeof(double) => ClassLabels.Of(KeyValues<double>(label), classes),
            { RawType: var t } when t == typeof(bool) => ClassLabels.Of(KeyValues<bool>(label), classes),
            _ => null,
        };
        return typed ?? ClassLabels.Of(Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), classes)!;
    }

    static T[] KeyValues<T>(DataViewSchema.Column label)
    {
        VBuffer<T> buf = default;
        label.GetKeyValues(ref buf);
        return buf.DenseValues().ToArray();
    }

    (float[] X, int[] Y) ReadRows(IDataView input, int dim)
    {
        var o = _options;
        var fCol = input.Schema[o.FeatureColumnName];
        var lCol = input.Schema[o.LabelColumnName];
        var xs = new List<float>();
        var ys = new List<int>();
        using var cursor = input.GetRowCursor(new[] { fCol, lCol });
        var getF = cursor.GetGetter<VBuffer<float>>(fCol);
        var getL = cursor.GetGetter<uint>(lCol);
        VBuffer<float> f = default;
        uint label = 0;
        var dense = new float[dim];
        while (cursor.MoveNext())
        {
            getL(ref label);
            if (label == 0) continue;
            getF(ref f);
            f.CopyTo(dense);
            if (!TensorPrimitives.IsFiniteAll(dense)) continue;
            xs.AddRange(dense);
            ys.Add((int)label - 1);
        }
        return (xs.ToArray(), ys.ToArray());
    }

    static (float[] Mean, float[] InvStd) Standardisation(float[] x, int[] rows, int dim)
    {
        var mean = new double[dim];
        var sq = new double[dim];
        foreach (var r in rows)
            for (int j = 0; j < dim; j++) { double v = x[r * dim + j]; mean[j] += v; sq[j] += v * v; }
        var m = new float[dim];
        var inv = new float[dim];
        for (int j = 0; j < dim; j++)
        {
            double mu = mean[j] / rows.Length;
            double variance = Math.Max(0, sq[j] / rows.Length - mu * mu);
            m[j] = (float)mu;
            inv[j] = variance > 1e-12 ? (float)(1 / Math.Sqrt(variance)) : 1f;
        }
        return (m, inv);
    }

    (List<DenseNetworkEpoch> History, int BestEpoch, TimeSpan Elapsed) Train(DenseNetwork net, float[] z, int[] y, int[] trainRows, int[] validRows,
        SessionSettings settings, Random rng)
    {
        var o = _options;
        int dim = net.Sizes[0], classes = net.Sizes[^1];
        using var train = new OnnxSession(net.TrainingGraph(), settings);
        using var eval = validRows.Length > 0 ? new OnnxSession(net.LogProbabilityGraph(), settings) : null;
        var adam = net.Parameters.Select(p => (M: new float[p.Length], V: new float[p.Length])).ToArray();
        var tmp = new float[net.Parameters.Max(p => p.Length)];
        var history = new List<DenseNetworkEpoch>();
        var sw = Stopwatch.StartNew();
        float bestLoss = float.PositiveInfinity;
        int bestEpoch = 0, step = 0;
        float[][]? bestParameters = null;
        var rows = (int[])trainRows.Clone();
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            rng.Shuffle(rows);
            double lossSum = 0;
            int batches = 0;
            for (int start = 0; start < rows.Length; start += o.BatchSize)
            {
                int bs = Math.Min(o.BatchSize, rows.Length - start);
                var (bx, by) = Batch(z, y, rows.AsSpan(start, bs), dim, classes);
                var inputs = net.ParameterInputs();
                inputs[DenseNetwork.Input] = FloatTensor.Of(bx, bs, dim);
                inputs[DenseNetwork.Target] = FloatTensor.Of(by, bs, classes);
                var result = train.Run(inputs, net.TrainingOutputs);
                float loss = result[DenseNetwork.Loss].Data[0];
                if (!float.IsFinite(loss)) throw new InvalidOperationException($"training diverged at epoch {epoch} (loss {loss}); lower LearningRate");
                lossSum += loss;
                batches++;
                step++;
                for (int p = 0; p < net.Parameters.Length; p++)
                {
                    var g = result[DenseNetwork.GradientName(p)].Data;
                    var w = net.Parameters[p];
                    if (o.L2Regularization > 0 && DenseNetwork.IsWeight(p)) TensorPrimitives.MultiplyAdd(w, o.L2Regularization, g, g);
                    AdamUpdate(w, g, adam[p].M, adam[p].V, tmp.AsSpan(0, w.Length), o.LearningRate, step);
                }
            }
            float? validLoss = null, validAccuracy = null;
            if (eval is not null)
            {
                (validLoss, validAccuracy) = Evaluate(eval, net, z, y, validRows, dim, classes);
                if (validLoss < bestLoss)
                {
                    bestLoss = validLoss.Value;
                    bestEpoch = epoch;
                    bestParameters = net.Parameters.Select(p => (float[])p.Clone()).ToArray();
                }
            }
            else bestEpoch = epoch;
            var record = new DenseNetworkEpoch(epoch, (float)(lossSum / Math.Max(1, batches)), validLoss, validAccuracy, sw.Elapsed);
            history.Add(record);
            o.Progress?.Report(record);
            if (eval is not null && o.EarlyStoppingPatience > 0 && epoch - bestEpoch >= o.EarlyStoppingPatience) break;
        }
        if (bestParameters is not null)
            for (int p = 0; p < bestParameters.Length; p++) bestParameters[p].CopyTo(net.Parameters[p], 0);
        return (history, bestEpoch, sw.Elapsed);
    }

    static void AdamUpdate(float[] w, float[] g, float[] m, float[] v, Span<float> tmp, float lr, int t)
    {
        const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        TensorPrimitives.Multiply(m, b1, m);
        TensorPrimitives.MultiplyAdd(g, 1 - b1, m, m);
        TensorPrimitives.Multiply(g, g, tmp);
        TensorPrimitives.Multiply(v, b2, v);
        TensorPrimitives.MultiplyAdd(tmp, 1 - b2, v, v);
        float c1 = 1 - MathF.Pow(b1, t), c2 = 1 - MathF.Pow(b2, t);
        // w -= lr · (m / c1) / (sqrt(v / c2) + eps)
        TensorPrimitives.Multiply(v, 1 / c2, tmp);
        TensorPrimitives.Sqrt(tmp, tmp);
        TensorPrimitives.Add(tmp, eps, tmp);
        TensorPrimitives.Divide(m, tmp, tmp);
        TensorPrimitives.MultiplyAdd(tmp, -lr / c1, w, w);
    }

    static (float[] X, float[] Y) Batch(float[] z, int[] y, ReadOnlySpan<int> rows, int dim, int classes)
    {
        var bx = new float[rows.Length * dim];
        var by = new float[rows.Length * classes];
        for (int i = 0; i < rows.Length; i++)
        {
            Array.Copy(z, rows[i] * dim, bx, i * dim, dim);
            by[i * classes + y[rows[i]]] = 1f;
        }
        return (bx, by);
    }

    static (float Loss, float Accuracy) Evaluate(OnnxSession eval, DenseNetwork net, float[] z, int[] y, int[] rows, int dim, int classes)
    {
        var (bx, _) = Batch(z, y, rows, dim, classes);
        var inputs = net.ParameterInputs();
        inputs[DenseNetwork.Input] = FloatTensor.Of(bx, rows.Length, dim);
        var logp = eval.Run(inputs, new[] { DenseNetwork.LogProbabilities })[DenseNetwork.LogProbabilities].Data;
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            var row = logp.AsSpan(i * classes, classes);
            loss -= row[y[rows[i]]];
            if (TensorPrimitives.IndexOfMax(row) == y[rows[i]]) correct++;
        }
        return ((float)(loss / rows.Length), correct / (float)rows.Length);
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

/// <summary>
/// Class values in the label's key order and the steps that turn a class index into <c>PredictedLabel</c>: a key whose key values
/// have the label's own type (text, numbers or booleans), so <c>MapKeyToValue</c> gives back values of the label's type.
/// </summary>
internal sealed class ClassLabels
{
    public string[] Names { get; }

    readonly Func<MLContext, EstimatorChain<ITransformer>, string, string, EstimatorChain<ITransformer>> _append;

    ClassLabels(string[] names, Func<MLContext, EstimatorChain<ITransformer>, string, string, EstimatorChain<ITransformer>> append)
    {
        Names = names;
        _append = append;
    }

    /// <summary>Null when the values are not distinct or not one per class.</summary>
    public static ClassLabels? Of<T>(T[] values, int classes)
    {
        if (values.Length != classes || values.Distinct().Count() != classes) return null;
        var names = values.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToArray();
        return new ClassLabels(names, (ml, chain, index, output) => AppendSteps(ml, chain, values, index, output));
    }

    /// <summary>index (uint) → class value (MapValue) → key over the class values in label order (MapValueToKey with key data).</summary>
    internal static EstimatorChain<ITransformer> AppendSteps<T>(MLContext ml, EstimatorChain<ITransformer> chain, T[] values, string index, string output)
    {
        var value = index + ".Value";
        var keyData = ml.Data.LoadFromEnumerable(values.Select(v => new ValueRow<T> { Value = v }));
        return chain
            .Append<ITransformer>(ml.Transforms.Conversion.MapValue(value, values.Select((v, i) => new KeyValuePair<uint, T>((uint)i, v)), index))
            .Append<ITransformer>(ml.Transforms.Conversion.MapValueToKey(output, value, keyData: keyData))
            .Append<ITransformer>(ml.Transforms.DropColumns(index, value));
    }

    public EstimatorChain<ITransformer> AppendPredictedLabel(MLContext ml, EstimatorChain<ITransformer> chain, string index, string output) =>
        _append(ml, chain, index, output);

    sealed class ValueRow<T>
    {
        public T Value { get; set; } = default!;
    }
}

/// <summary>The arg-max step of <see cref="DenseNetworkTrainer"/>'s pipeline: Score → the index of the most probable class.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ArgMaxFactory : CustomMappingFactory<ArgMaxFactory.Input, ArgMaxFactory.Output>
{
    /// <summary>The contract name stored in saved models.</summary>
    public const string ContractName = "MLStyle.ML.DenseNetwork.ArgMax";

    internal const string IndexColumn = "MLStyle.DenseNetwork.PredictedIndex";

    /// <summary>The input row: the class scores.</summary>
    public sealed class Input
    {
        /// <summary>Class probabilities.</summary>
        [ColumnName(DenseNetworkTrainer.ScoreColumnName), VectorType]
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    /// <summary>The output row: the index of the highest score.</summary>
    public sealed class Output
    {
        /// <summary>Index of the highest score (from 0).</summary>
        [ColumnName(IndexColumn)]
        public uint PredictedIndex { get; set; }
    }

    /// <summary>Writes the index of the highest score (the first one on ties). Stateless and thread-safe.</summary>
    public static void Map(Input input, Output output) =>
        output.PredictedIndex = input.Score.Length == 0 ? 0u : (uint)TensorPrimitives.IndexOfMax<float>(input.Score);

    /// <inheritdoc />
    public override Action<Input, Output> GetMapping() => Map;
}
