using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLStyle.ML.Internal;

/// <summary>
/// Turns an ONNX model MLStyle built into a fitted chain of ML.NET's own savable transformers:
/// <c>ApplyOnnxModel</c> (the ONNX bytes are stored in the saved model), then optionally <c>ConvertToImage</c>, with
/// temporary columns renamed and dropped. ONNX tensor names equal column names, as <c>ApplyOnnxModel</c> requires.
/// </summary>
internal static class OnnxChain
{
    /// <summary>The ONNX output tensor name for an output column: the column name itself unless it would hide an input.</summary>
    public static string OutputTensor(string outputColumn, IEnumerable<string> inputColumns, bool image) =>
        image || inputColumns.Contains(outputColumn) ? $"{outputColumn}.MLStyle.Output" : outputColumn;

    /// <summary>An ML.NET pipeline that runs <paramref name="onnx"/> and names its outputs.</summary>
    /// <param name="t">The catalog.</param>
    /// <param name="onnx">Serialised model whose inputs are named after <paramref name="inputColumns"/>.</param>
    /// <param name="inputColumns">Input columns (= ONNX input tensor names).</param>
    /// <param name="outputs">(ONNX output tensor, output column, image size or null for a pixel/feature vector).</param>
    /// <param name="start">Steps to run first.</param>
    public static EstimatorChain<ITransformer> Pipeline(TransformsCatalog t, byte[] onnx, IReadOnlyList<string> inputColumns,
        IReadOnlyList<(string Tensor, string Column, ImageSize? Image)> outputs, EstimatorChain<ITransformer>? start = null)
    {
        var chain = (start ?? new EstimatorChain<ITransformer>()).Append<ITransformer>(t.ApplyOnnxModel(outputs.Select(o => o.Tensor).ToArray(), inputColumns.ToArray(),
            new MemoryStream(onnx, writable: false), shapeDictionary: null, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100));
        var temps = new List<string>();
        foreach (var (tensor, column, image) in outputs)
        {
            if (tensor == column) continue;
            chain = image is { } s
                ? chain.Append<ITransformer>(t.ConvertToImage(s.Height, s.Width, column, tensor))
                : chain.Append<ITransformer>(t.CopyColumns(column, tensor));
            temps.Add(tensor);
        }
        if (temps.Count > 0) chain = chain.Append<ITransformer>(t.DropColumns(temps.ToArray()));
        return chain;
    }

    /// <summary>
    /// Builds a model with one input and one output for the input column's image size (<paramref name="build"/> gets the size
    /// and the output tensor name and returns the serialised model) and fits the chain that runs it; an image output is
    /// converted to an image column of the same size.
    /// </summary>
    public static TransformerChain<ITransformer> FitImageModel(TransformsCatalog t, IDataView input, string inputColumn, string outputColumn,
        int? width, int? height, bool imageOutput, Func<ImageSize, string, byte[]> build)
    {
        ArgumentNullException.ThrowIfNull(input);
        var size = ImageSize.Resolve(input.Schema, inputColumn, width, height);
        SchemaChecks.PixelScale(input, inputColumn);
        var tensor = OutputTensor(outputColumn, new[] { inputColumn }, imageOutput);
        var pipeline = Pipeline(t, build(size, tensor), new[] { inputColumn },
            new (string, string, ImageSize?)[] { (tensor, outputColumn, imageOutput ? size : null) });
        return Fit(pipeline, input);
    }

    /// <summary>Fits <paramref name="pipeline"/> on <paramref name="data"/> and returns its transformers as one chain.</summary>
    public static TransformerChain<ITransformer> Fit(IEstimator<ITransformer> pipeline, IDataView data)
    {
        var fitted = pipeline.Fit(data);
        return fitted is TransformerChain<ITransformer> chain
            ? new TransformerChain<ITransformer>(chain.ToArray())
            : new TransformerChain<ITransformer>(fitted);
    }
}
