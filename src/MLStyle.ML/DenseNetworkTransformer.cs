using Microsoft.ML;
using Microsoft.ML.Data;
using MLStyle.ML.Internal;
using MLStyle.Onnx;

namespace MLStyle.ML;

/// <summary>
/// A trained <see cref="DenseNetworkTrainer"/> network: it adds <c>Score</c> and <c>PredictedLabel</c> columns, and can export the
/// network as an ONNX file.
/// </summary>
/// <remarks>
/// The transformer runs a chain of ML.NET's own transformers (<c>ApplyOnnxModel</c> with the network, an arg-max
/// <c>CustomMapping</c> and <c>MapValue</c> to the label's key values), and saves as that chain: <c>mlContext.Model.Load</c> returns
/// a <see cref="TransformerChain{TLastTransformer}"/> that predicts the same, but no longer offers <see cref="ExportOnnx(string)"/>.
/// <para>It is ML.NET's <see cref="ISingleFeaturePredictionTransformer{TModel}"/>, so
/// <c>mlContext.MulticlassClassification.PermutationFeatureImportance(transformer, data)</c> works on it (for a pipeline, pass
/// its <c>LastTransformer</c>: the overload taking a whole model looks for an interface internal to ML.NET).</para>
/// </remarks>
public sealed class DenseNetworkTransformer : ISingleFeaturePredictionTransformer<DenseNetworkModelParameters>, IDisposable
{
    readonly TransformerChain<ITransformer> _chain;
    readonly DenseNetwork _network;

    internal DenseNetworkTransformer(TransformerChain<ITransformer> chain, DenseNetwork network, string featureColumnName,
        IReadOnlyList<DenseNetworkEpoch> history, int bestEpoch, TimeSpan trainingTime)
    {
        _chain = chain; _network = network;
        FeatureColumnName = featureColumnName; History = history; BestEpoch = bestEpoch; TrainingTime = trainingTime;
    }

    /// <summary>The feature column the network reads.</summary>
    public string FeatureColumnName { get; }

    /// <summary>The feature column's type: a vector of <see cref="LayerSizes"/>[0] Single values.</summary>
    public DataViewType FeatureColumnType => new VectorDataViewType(NumberDataViewType.Single, _network.Sizes[0]);

    /// <summary>The trained network's parameters.</summary>
    public DenseNetworkModelParameters Model => new(_network);

    /// <summary>The class names, in the order of the label's keys (and of <c>Score</c>'s slots).</summary>
    public IReadOnlyList<string> ClassNames => _network.ClassNames;

    /// <summary>Layer sizes: features, hidden layers…, classes.</summary>
    public IReadOnlyList<int> LayerSizes => _network.Sizes;

    /// <summary>The losses of every epoch trained.</summary>
    public IReadOnlyList<DenseNetworkEpoch> History { get; }

    /// <summary>The epoch whose weights were kept (the lowest validation loss; the last epoch without validation).</summary>
    public int BestEpoch { get; }

    /// <summary>Time spent training.</summary>
    public TimeSpan TrainingTime { get; }

    /// <summary>
    /// The network as an ONNX model (opset 17): input named after the feature column, <c>[N, D]</c> float; outputs <c>Score</c>
    /// <c>[N, K]</c> (class probabilities) and <c>PredictedLabel</c> <c>[N]</c> (int64 index into <see cref="ClassNames"/>, which the
    /// model also lists in its <c>class_names</c> metadata). Feature standardisation is part of the graph.
    /// </summary>
    public byte[] ToOnnx() => OnnxModels.ToBytes(_network.InferenceGraph(FeatureColumnName, forPipeline: false));

    /// <summary>Writes <see cref="ToOnnx"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The .onnx file to write.</param>
    public void ExportOnnx(string path) => OnnxModels.Save(_network.InferenceGraph(FeatureColumnName, forPipeline: false), path);

    /// <summary>Writes <see cref="ToOnnx"/> to <paramref name="stream"/>.</summary>
    /// <param name="stream">The stream to write to.</param>
    public void ExportOnnx(Stream stream) => stream.Write(ToOnnx());

    /// <inheritdoc />
    public bool IsRowToRowMapper => ((ITransformer)_chain).IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _chain.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)_chain).GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => _chain.Transform(input);

    /// <summary>Saves the transformer as its chain of ML.NET transformers.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_chain).Save(ctx);

    /// <inheritdoc />
    public void Dispose() => _chain.Dispose();
}
