using MLStyle.Autodiff;
using MLStyle.Onnx;
using MLStyle.Runtime;
using Onnx;

namespace MLStyle.ML.Internal;

/// <summary>
/// A multilayer perceptron's parameters and its ONNX graphs: the training step (loss and gradients w.r.t. the weights as graph
/// inputs), the validation forward pass, and the inference graph with standardisation and weights as initializers.
/// </summary>
internal sealed class DenseNetwork
{
    public const string Input = "x", Target = "y", Loss = "loss", LogProbabilities = "log_probabilities";

    /// <summary>Layer sizes: input, hidden…, classes.</summary>
    public int[] Sizes { get; }

    /// <summary>W0, b0, W1, b1, …; W is [in, out] row-major.</summary>
    public float[][] Parameters { get; }

    public float[] Mean { get; }
    public float[] InvStd { get; }
    public string[] ClassNames { get; }

    public DenseNetwork(int[] sizes, float[] mean, float[] invStd, string[] classNames)
    {
        Sizes = sizes; Mean = mean; InvStd = invStd; ClassNames = classNames;
        Parameters = new float[2 * (sizes.Length - 1)][];
        for (int l = 0; l < sizes.Length - 1; l++)
        {
            Parameters[2 * l] = new float[sizes[l] * sizes[l + 1]];
            Parameters[2 * l + 1] = new float[sizes[l + 1]];
        }
    }

    public static string ParameterName(int p) => p % 2 == 0 ? $"W{p / 2}" : $"b{p / 2}";
    public static string GradientName(int p) => ParameterName(p) + "_grad";
    public static bool IsWeight(int p) => p % 2 == 0;

    long[] ParameterDims(int p) => IsWeight(p) ? new long[] { Sizes[p / 2], Sizes[p / 2 + 1] } : new long[] { Sizes[p / 2 + 1] };

    /// <summary>He initialisation of the weights (normal, variance 2/fan-in); zero biases.</summary>
    public void Initialise(Random rng)
    {
        for (int l = 0; l < Sizes.Length - 1; l++)
        {
            var w = Parameters[2 * l];
            double sd = Math.Sqrt(2.0 / Sizes[l]);
            for (int i = 0; i < w.Length; i++)
            {
                double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
                w[i] = (float)(sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            }
        }
    }

    public Dictionary<string, FloatTensor> ParameterInputs()
    {
        var d = new Dictionary<string, FloatTensor>();
        for (int p = 0; p < Parameters.Length; p++) d[ParameterName(p)] = new FloatTensor(Parameters[p], ParameterDims(p));
        return d;
    }

    public IReadOnlyList<string> TrainingOutputs => new[] { Loss }.Concat(Enumerable.Range(0, Parameters.Length).Select(GradientName)).ToList();

    /// <summary>Logits of the network, with the parameters named by <paramref name="param"/>.</summary>
    string Logits(GraphBuilder b, string x, Func<int, string> param)
    {
        var h = x;
        int layers = Sizes.Length - 1;
        for (int l = 0; l < layers; l++)
        {
            h = b.Add(b.MatMul(h, param(2 * l)), param(2 * l + 1));
            if (l < layers - 1) h = b.Relu(h);
        }
        return h;
    }

    GraphBuilder WithParameterInputs(string name, out string x)
    {
        var b = GraphBuilder.Create(name);
        x = b.AddInput(Input, ElementType.Float, new long[] { -1, Sizes[0] }, new[] { "N", "" });
        for (int p = 0; p < Parameters.Length; p++) b.AddInput(ParameterName(p), ElementType.Float, ParameterDims(p));
        return b;
    }

    /// <summary>Inputs x [N, D], y [N, K] (one-hot) and the parameters; outputs the mean cross-entropy and its gradients.</summary>
    public ModelProto TrainingGraph()
    {
        var b = WithParameterInputs("mlstyle_dense_training", out var x);
        var y = b.AddInput(Target, ElementType.Float, new long[] { -1, Sizes[^1] }, new[] { "N", "" });
        var logp = b.Node("LogSoftmax", new[] { Logits(b, x, ParameterName) }, null, ("axis", 1L));
        var perRow = b.ReduceSum(b.Mul(y, logp), new long[] { 1 }, keepdims: false);
        var loss = b.Identity(b.Neg(b.ReduceMean(perRow, null, keepdims: false)), Loss);
        var names = Enumerable.Range(0, Parameters.Length).Select(ParameterName).ToList();
        var grads = Differentiator.AddGradients(b, loss, null, names);
        b.AddOutput(loss, TensorInfo.Float());
        for (int p = 0; p < Parameters.Length; p++) b.AddOutput(b.Identity(grads[names[p]], GradientName(p)), TensorInfo.Float(ParameterDims(p)));
        return b.Model;
    }

    /// <summary>Inputs x [N, D] and the parameters; output log-probabilities [N, K].</summary>
    public ModelProto LogProbabilityGraph()
    {
        var b = WithParameterInputs("mlstyle_dense_eval", out var x);
        var logp = b.Node("LogSoftmax", new[] { Logits(b, x, ParameterName) }, LogProbabilities, ("axis", 1L));
        b.AddOutput(logp, new TensorInfo(ElementType.Float, new long[] { -1, Sizes[^1] }));
        return b.Model;
    }

    /// <summary>
    /// The trained network with its weights as initializers. For export: input <paramref name="input"/> [N, D], outputs
    /// <c>Score</c> [N, K] (probabilities) and <c>PredictedLabel</c> [N] (int64 class index). For an ML.NET pipeline
    /// (<paramref name="forPipeline"/>): input [D], output <c>Score</c> [K].
    /// </summary>
    public ModelProto InferenceGraph(string input, bool forPipeline)
    {
        var b = GraphBuilder.Create("mlstyle_dense_network");
        int d = Sizes[0], k = Sizes[^1];
        var x = forPipeline ? b.Reshape(b.AddInput(input, ElementType.Float, new long[] { d }), 1, d)
                            : b.AddInput(input, ElementType.Float, new long[] { -1, d }, new[] { "N", "" });
        var mean = b.Constant(Mean, new long[] { d }, "feature_mean");
        var invStd = b.Constant(InvStd, new long[] { d }, "feature_inv_std");
        var z = b.Mul(b.Sub(x, mean), invStd);
        var weights = Parameters.Select((p, i) => b.Constant(p, ParameterDims(i), ParameterName(i))).ToArray();
        var probabilities = b.Node("Softmax", new[] { Logits(b, z, i => weights[i]) }, null, ("axis", 1L));
        if (forPipeline)
        {
            b.AddOutput(b.Identity(b.Reshape(probabilities, k), DenseNetworkTrainer.ScoreColumnName), TensorInfo.Float(k));
        }
        else
        {
            b.AddOutput(b.Identity(probabilities, DenseNetworkTrainer.ScoreColumnName), new TensorInfo(ElementType.Float, new long[] { -1, k }));
            var label = b.Node("ArgMax", new[] { probabilities }, DenseNetworkTrainer.PredictedLabelColumnName, ("axis", 1L), ("keepdims", 0L));
            b.Graph.Output.Add(GraphBuilder.MakeValueInfo(label, ElementType.Int64, new long[] { -1 }, new[] { "N" }));
            b.Model.MetadataProps.Add(new StringStringEntryProto { Key = "class_names", Value = string.Join("\n", ClassNames) });
        }
        var inp = b.Graph.Input[0];
        if (!forPipeline) inp.Type.TensorType.Shape.Dim[0].DimParam = "N";
        foreach (var o in b.Graph.Output) if (!forPipeline && o.Type.TensorType.Shape.Dim[0].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue) o.Type.TensorType.Shape.Dim[0].DimParam = "N";
        return b.Model;
    }
}
