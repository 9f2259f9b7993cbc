using Microsoft.ML;
using MLStyle.ML.Internal;

namespace MLStyle.ML;

/// <summary>
/// MLStyle's ML.NET catalog: deep features, Gram-matrix style descriptors, style transfer, DeepDream and feed-forward stylisers
/// on <see cref="MLContext.Transforms"/>, and a dense neural network on <see cref="MulticlassClassificationCatalog.Trainers"/>.
/// Every fitted component is a chain of ML.NET's own transformers (<c>ApplyOnnxModel</c> with the ONNX graph stored in the
/// model, <c>ConvertToImage</c>, <c>CustomMapping</c>), so <c>mlContext.Model.Save</c> and <c>Load</c> work as usual.
/// </summary>
public static class MLStyleCatalog
{
    /// <summary>
    /// Creates a <see cref="DeepFeatureExtractingEstimator"/>, which computes the feature maps of a CNN backbone (the embedded
    /// ResNet18 by default) at one layer from image pixels.
    /// </summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnName">Name of the column resulting from the transformation of <paramref name="inputColumnName"/>:
    /// <c>Vector&lt;Single, C, h, w&gt;</c>.</param>
    /// <param name="inputColumnName">Name of the pixel column (<c>Vector&lt;Single, 3, H, W&gt;</c>, RGB 0–255, from
    /// <c>ExtractPixels</c>). If set to <see langword="null"/>, the value of the <paramref name="outputColumnName"/> is used as source.</param>
    /// <param name="options">Backbone, layer and image size (default: ResNet18's deepest layer, layer4.2).</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var pipeline = mlContext.Transforms.LoadImages("Image", imageFolder, "Path")
    ///     .Append(mlContext.Transforms.ResizeImages("Image", imageWidth: 128, imageHeight: 128))
    ///     .Append(mlContext.Transforms.ExtractPixels("Pixels", "Image"))
    ///     .Append(mlContext.Transforms.ExtractDeepFeatures("Features", "Pixels",
    ///         new DeepFeatureExtractingEstimator.Options { Layers = new[] { "layer3.1" }, GlobalAveragePool = true }));
    /// // Features: Vector<Single, 256>
    /// ]]></code>
    /// </example>
    public static DeepFeatureExtractingEstimator ExtractDeepFeatures(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, DeepFeatureExtractingEstimator.Options? options = null)
        => new(catalog, new[] { outputColumnName }, inputColumnName, options);

    /// <summary>
    /// Creates a <see cref="DeepFeatureExtractingEstimator"/> that reads several layers in one pass, one output column per
    /// layer of <see cref="DeepFeatureExtractingEstimator.Options.Layers"/>.
    /// </summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnNames">One output column per layer, in the order of <c>options.Layers</c>.</param>
    /// <param name="inputColumnName">Name of the pixel column (<c>Vector&lt;Single, 3, H, W&gt;</c>, RGB 0–255).</param>
    /// <param name="options">Backbone, layers and image size.</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var features = mlContext.Transforms.ExtractDeepFeatures(new[] { "Conv1", "Layer2" }, "Pixels",
    ///     new DeepFeatureExtractingEstimator.Options { Layers = new[] { "conv1", "layer2.1" } });
    /// ]]></code>
    /// </example>
    public static DeepFeatureExtractingEstimator ExtractDeepFeatures(this TransformsCatalog catalog, string[] outputColumnNames,
        string inputColumnName, DeepFeatureExtractingEstimator.Options options)
        => new(catalog, outputColumnNames, inputColumnName, options);

    /// <summary>
    /// Creates a <see cref="GramMatrixEstimator"/>, which turns feature maps into their flattened, normalised Gram matrix
    /// G = F·Fᵀ / (C·h·w).
    /// </summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnName">Name of the column resulting from the transformation of <paramref name="inputColumnName"/>.</param>
    /// <param name="inputColumnName">Name of the feature column (<c>Vector&lt;Single, C, h, w&gt;</c>, from
    /// <see cref="ExtractDeepFeatures(TransformsCatalog, string, string?, DeepFeatureExtractingEstimator.Options?)"/>).
    /// If set to <see langword="null"/>, the value of the <paramref name="outputColumnName"/> is used as source.</param>
    /// <param name="options">Layout (upper triangle by default) and normalisation.</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var pipeline = mlContext.Transforms.ExtractPixels("Pixels", "Image")
    ///     .Append(mlContext.Transforms.ExtractDeepFeatures("Layer1", "Pixels",
    ///         new DeepFeatureExtractingEstimator.Options { Layers = new[] { "layer1.1" } }))
    ///     .Append(mlContext.Transforms.ComputeGramMatrix("Gram", "Layer1"));   // Vector<Single, 2080>
    /// ]]></code>
    /// </example>
    public static GramMatrixEstimator ComputeGramMatrix(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, GramMatrixEstimator.Options? options = null)
        => new(catalog, outputColumnName, inputColumnName, options);

    /// <summary>
    /// Creates a <see cref="StyleFeatureExtractingEstimator"/>, which describes each image's style by the Gram matrices of
    /// several backbone layers as one flat, L2-normalised vector (for classifiers and similarity search).
    /// </summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnName">Name of the descriptor column.</param>
    /// <param name="inputColumnName">Name of the pixel column (<c>Vector&lt;Single, 3, H, W&gt;</c>, RGB 0–255).
    /// If set to <see langword="null"/>, the value of the <paramref name="outputColumnName"/> is used as source.</param>
    /// <param name="options">Backbone, layers, layout and normalisation.</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var pipeline = mlContext.Transforms.ExtractPixels("Pixels", "Image")
    ///     .Append(mlContext.Transforms.ExtractStyleFeatures("Features", "Pixels",
    ///         new StyleFeatureExtractingEstimator.Options { Layers = new[] { "conv1", "layer1.1", "layer2.1" } }))
    ///     .Append(mlContext.Transforms.Conversion.MapValueToKey("Label"))
    ///     .Append(mlContext.MulticlassClassification.Trainers.DenseNetwork());
    /// ]]></code>
    /// </example>
    public static StyleFeatureExtractingEstimator ExtractStyleFeatures(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, StyleFeatureExtractingEstimator.Options? options = null)
        => new(catalog, outputColumnName, inputColumnName, options);

    /// <summary>
    /// Creates a <see cref="StyleTransferEstimator"/>: fitted on style images, it repaints each row's image in their style by an
    /// optimisation that runs inside the saved ONNX model.
    /// </summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnName">Name of the stylised image column (<c>Image&lt;H, W&gt;</c>, or pixels with
    /// <see cref="StyleTransferEstimator.Options.OutputKind"/> = <see cref="ImageOutputKind.Pixels"/>).</param>
    /// <param name="inputColumnName">Name of the pixel column (<c>Vector&lt;Single, 3, H, W&gt;</c>, RGB 0–255).
    /// If set to <see langword="null"/>, the value of the <paramref name="outputColumnName"/> is used as source.</param>
    /// <param name="options">Style images, iterations, weights, backbone.</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var pipeline = mlContext.Transforms.LoadImages("Image", "photos", "Path")
    ///     .Append(mlContext.Transforms.ResizeImages("Image", 256, 256, cropAnchor: ImageResizingEstimator.Anchor.Center,
    ///         resizing: ImageResizingEstimator.ResizingKind.IsoCrop))
    ///     .Append(mlContext.Transforms.ExtractPixels("Pixels", "Image"))
    ///     .Append(mlContext.Transforms.StyleTransfer("Stylized", "Pixels",
    ///         new StyleTransferEstimator.Options { StyleImages = { "style.png" }, Iterations = 100 }));
    /// var model = pipeline.Fit(photos);
    /// foreach (var (path, image) in model.Transform(photos).GetColumn<string>("Path")
    ///              .Zip(model.Transform(photos).GetColumn<MLImage>("Stylized")))
    ///     image.Save(Path.ChangeExtension(path, ".stylized.png"));
    /// ]]></code>
    /// </example>
    public static StyleTransferEstimator StyleTransfer(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName, StyleTransferEstimator.Options options)
        => new(catalog, outputColumnName, inputColumnName, options);

    /// <summary>
    /// Creates a <see cref="StyleTransferEstimator"/> for one style image with default settings.
    /// </summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnName">Name of the stylised image column (<c>Image&lt;H, W&gt;</c>).</param>
    /// <param name="inputColumnName">Name of the pixel column (<c>Vector&lt;Single, 3, H, W&gt;</c>, RGB 0–255).</param>
    /// <param name="styleImagePath">The style image.</param>
    /// <param name="iterations">Adam iterations per row.</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var stylize = mlContext.Transforms.StyleTransfer("Stylized", "Pixels", "samples/style/swirls.png", iterations: 100);
    /// ]]></code>
    /// </example>
    public static StyleTransferEstimator StyleTransfer(this TransformsCatalog catalog, string outputColumnName,
        string inputColumnName, string styleImagePath, int iterations = 100)
    {
        ArgumentOrder.CheckFileAfterColumns(nameof(styleImagePath), styleImagePath, inputColumnName);
        return new(catalog, outputColumnName, inputColumnName, new StyleTransferEstimator.Options { StyleImages = { styleImagePath }, Iterations = iterations });
    }

    /// <summary>
    /// Creates a <see cref="DeepDreamEstimator"/>, which amplifies what a backbone layer sees in each row's image (DeepDream),
    /// by gradient ascent that runs inside the saved ONNX model.
    /// </summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnName">Name of the dreamed image column (<c>Image&lt;H, W&gt;</c>, or pixels with
    /// <see cref="DeepDreamEstimator.Options.OutputKind"/> = <see cref="ImageOutputKind.Pixels"/>).</param>
    /// <param name="inputColumnName">Name of the pixel column (<c>Vector&lt;Single, 3, H, W&gt;</c>, RGB 0–255).
    /// If set to <see langword="null"/>, the value of the <paramref name="outputColumnName"/> is used as source.</param>
    /// <param name="options">Layers, steps, octaves, backbone (default: ResNet18 layer3.0 and layer3.1, 3 octaves of 10 steps).</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var pipeline = mlContext.Transforms.ExtractPixels("Pixels", "Image")
    ///     .Append(mlContext.Transforms.DeepDream("Dream", "Pixels",
    ///         new DeepDreamEstimator.Options { Layers = new[] { "layer2.1" }, Iterations = 20 }));
    /// ]]></code>
    /// </example>
    public static DeepDreamEstimator DeepDream(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, DeepDreamEstimator.Options? options = null)
        => new(catalog, outputColumnName, inputColumnName, options);
    /// <summary>
    /// Creates a <see cref="StylizerTrainingEstimator"/>: <c>Fit</c> trains a feed-forward styliser (Johnson et al. 2016) for
    /// one style image on the photos of the input column, and the fitted transformer stylises each row in one forward pass.
    /// With <see cref="StylizerTrainingEstimator.Options.StyleImages"/> it trains one styliser for several styles (conditional
    /// instance normalisation) and applies the blend <see cref="StylizerTrainingEstimator.Options.StyleWeights"/>.
    /// Named after what the fitted transformer does, as ML.NET names estimators that learn what they apply; use
    /// <see cref="ApplyStylizer(TransformsCatalog, string, string, string?, bool)"/> for a styliser file that already exists.
    /// </summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnName">Name of the stylised image column (<c>Image&lt;H, W&gt;</c>, or pixels with
    /// <see cref="StylizerTrainingEstimator.Options.OutputKind"/> = <see cref="ImageOutputKind.Pixels"/>).</param>
    /// <param name="inputColumnName">Name of the pixel column (<c>Vector&lt;Single, 3, H, W&gt;</c>, RGB 0–255), the photos to
    /// learn from and to stylise. If set to <see langword="null"/>, the value of the <paramref name="outputColumnName"/> is used as source.</param>
    /// <param name="options">The style image or images (required) and the training settings of <c>mlstyle train</c>.</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var pipeline = mlContext.Transforms.LoadImages("Image", "photos", "Path")
    ///     .Append(mlContext.Transforms.ResizeImages("Image", 256, 256, resizing: ImageResizingEstimator.ResizingKind.IsoCrop))
    ///     .Append(mlContext.Transforms.ExtractPixels("Pixels", "Image"))
    ///     .Append(mlContext.Transforms.StylizeImages("Stylized", "Pixels", new StylizerTrainingEstimator.Options
    ///     {
    ///         StyleImage = "samples/style/swirls.png", CropSize = 128, TimeLimit = TimeSpan.FromMinutes(30), SaveStylizerTo = "swirls.onnx",
    ///     }));
    /// var model = pipeline.Fit(photos);   // trains the styliser
    /// ]]></code>
    /// </example>
    public static StylizerTrainingEstimator StylizeImages(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, StylizerTrainingEstimator.Options? options = null)
        => new(catalog, outputColumnName, inputColumnName, options);

    /// <summary>
    /// Creates a <see cref="StylizerEstimator"/>, which applies a feed-forward styliser ONNX file (input and output
    /// <c>[1, 3, H, W]</c> RGB 0–255, like the ONNX model zoo's fast-neural-style models) with clamping and optional colour preservation.
    /// </summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnName">Name of the stylised image column (<c>Image&lt;H, W&gt;</c>).</param>
    /// <param name="inputColumnName">Name of the pixel column (<c>Vector&lt;Single, 3, H, W&gt;</c>, RGB 0–255, of the styliser's
    /// input size).</param>
    /// <param name="modelFile">The styliser's ONNX file.</param>
    /// <param name="preserveColors">Keep the input's colours (luminance from the styliser, chroma from the input).</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var pipeline = mlContext.Transforms.LoadImages("Image", "photos", "Path")
    ///     .Append(mlContext.Transforms.ResizeImages("Image", 224, 224))
    ///     .Append(mlContext.Transforms.ExtractPixels("Pixels", "Image"))
    ///     .Append(mlContext.Transforms.ApplyStylizer("Stylized", "Pixels", "models/mosaic-9.onnx"));
    /// ]]></code>
    /// </example>
    public static StylizerEstimator ApplyStylizer(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        string modelFile, bool preserveColors = false)
    {
        ArgumentOrder.CheckFileAfterColumns(nameof(modelFile), modelFile, inputColumnName);
        return new(catalog, outputColumnName, inputColumnName, new StylizerEstimator.Options { ModelFile = modelFile, PreserveColors = preserveColors });
    }

    /// <summary>Creates a <see cref="StylizerEstimator"/> with options.</summary>
    /// <param name="catalog">The transform's catalog.</param>
    /// <param name="outputColumnName">Name of the stylised image column.</param>
    /// <param name="inputColumnName">Name of the pixel column. If set to <see langword="null"/>, the value of the
    /// <paramref name="outputColumnName"/> is used as source.</param>
    /// <param name="options">Model file, colour preservation, output kind, size for symbolic models.</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var stylize = mlContext.Transforms.ApplyStylizer("Stylized", "Pixels",
    ///     new StylizerEstimator.Options { ModelFile = "candy-9.onnx", PreserveColors = true, OutputKind = ImageOutputKind.Pixels });
    /// ]]></code>
    /// </example>
    public static StylizerEstimator ApplyStylizer(this TransformsCatalog catalog, string outputColumnName, string? inputColumnName,
        StylizerEstimator.Options options)
        => new(catalog, outputColumnName, inputColumnName, options);
    /// <summary>
    /// Creates a <see cref="DenseNetworkTrainer"/>: a multilayer perceptron (ReLU hidden layers, softmax output) trained with
    /// minibatch Adam on cross-entropy, with gradients from MLStyle's differentiation of its ONNX graph.
    /// </summary>
    /// <param name="catalog">The multiclass classification catalog trainer object.</param>
    /// <param name="labelColumnName">The name of the label column (a key, from <c>MapValueToKey</c>).</param>
    /// <param name="featureColumnName">The name of the feature column (a known-size vector of Single).</param>
    /// <param name="hiddenLayerSizes">Sizes of the hidden layers (default one layer of 64).</param>
    /// <param name="epochs">Maximum number of epochs.</param>
    /// <param name="learningRate">Adam learning rate.</param>
    /// <param name="seed">Random seed.</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
    ///     .Append(mlContext.MulticlassClassification.Trainers.DenseNetwork(hiddenLayerSizes: new[] { 64 }, epochs: 100));
    /// var model = pipeline.Fit(train);
    /// var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(test));
    /// model.LastTransformer.ExportOnnx("digits.onnx");
    /// ]]></code>
    /// </example>
    public static DenseNetworkTrainer DenseNetwork(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Features", int[]? hiddenLayerSizes = null,
        int epochs = 100, float learningRate = 1e-3f, int seed = 0)
        => new(catalog, new DenseNetworkTrainer.Options
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            HiddenLayerSizes = hiddenLayerSizes ?? new[] { 64 },
            Epochs = epochs,
            LearningRate = learningRate,
            Seed = seed,
        });

    /// <summary>Creates a <see cref="DenseNetworkTrainer"/> with options.</summary>
    /// <param name="catalog">The multiclass classification catalog trainer object.</param>
    /// <param name="options">Columns, architecture, optimisation and early stopping.</param>
    /// <example>
    /// <code language="csharp"><![CDATA[
    /// var trainer = mlContext.MulticlassClassification.Trainers.DenseNetwork(new DenseNetworkTrainer.Options
    /// {
    ///     HiddenLayerSizes = new[] { 128, 64 }, BatchSize = 64, L2Regularization = 1e-3f, ValidationFraction = 0.2f,
    ///     Progress = new Progress<DenseNetworkEpoch>(e => Console.WriteLine($"epoch {e.Epoch}: {e.ValidationLoss}")),
    /// });
    /// ]]></code>
    /// </example>
    public static DenseNetworkTrainer DenseNetwork(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        DenseNetworkTrainer.Options options)
        => new(catalog, options);
}
