using System.Numerics.Tensors;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace MLStyle.ML;

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
