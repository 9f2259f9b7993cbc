using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace MLStyle.ML.Internal;

/// <summary>
/// Output schema shapes made by small chains of built-in estimators (<see cref="SchemaShape.Column"/> cannot be created
/// outside ML.NET): a vector or image column, or the Score/PredictedLabel pair of a multiclass classifier.
/// </summary>
internal static class SchemaTemplates
{
    const string Vector = "MLStyle.Template.Vector", Index = "MLStyle.Template.Index";

    static readonly Lazy<MLContext> Context = new(() => new MLContext(0));

    /// <summary>A catalog for template chains of components that have no <see cref="TransformsCatalog"/> of their own.</summary>
    public static TransformsCatalog Catalog => Context.Value.Transforms;

    public sealed class NoInput { }

    public sealed class VectorOutput
    {
        [ColumnName(Vector), VectorType(1)] public float[] Value { get; set; } = new float[1];
    }

    public sealed class ClassifierOutput
    {
        [ColumnName(Vector), VectorType(2)] public float[] Score { get; set; } = new float[2];
        [ColumnName(Index)] public uint PredictedIndex { get; set; }
    }

    static IEstimator<ITransformer> VectorSource(TransformsCatalog t) =>
        t.CustomMapping<NoInput, VectorOutput>((_, _) => { }, contractName: null);

    /// <summary><paramref name="input"/> plus known-size float vector columns <paramref name="columns"/>.</summary>
    public static SchemaShape WithVectors(TransformsCatalog t, SchemaShape input, IEnumerable<string> columns)
    {
        IEstimator<ITransformer> chain = VectorSource(t);
        foreach (var c in columns) chain = chain.Append(t.CopyColumns(c, Vector));
        return chain.Append(t.DropColumns(Vector)).GetOutputSchema(input);
    }

    /// <summary><paramref name="input"/> plus an image column <paramref name="column"/>.</summary>
    public static SchemaShape WithImage(TransformsCatalog t, SchemaShape input, string column, int height, int width) =>
        VectorSource(t)
            .Append(t.ConvertToImage(Math.Max(1, height), Math.Max(1, width), column, Vector))
            .Append(t.DropColumns(Vector))
            .GetOutputSchema(input);

    /// <summary>
    /// <paramref name="input"/> plus Score (float vector) and PredictedLabel (a key whose key values have the raw type
    /// <paramref name="keyValueType"/>, text when unknown).
    /// </summary>
    public static SchemaShape WithClassifier(SchemaShape input, string scoreColumn, string predictedLabelColumn, Type? keyValueType)
    {
        var ml = Context.Value;
        var t = ml.Transforms;
        var chain = new EstimatorChain<ITransformer>()
            .Append<ITransformer>(t.CustomMapping<NoInput, ClassifierOutput>((_, _) => { }, contractName: null))
            .Append<ITransformer>(t.CopyColumns(scoreColumn, Vector));
        chain = keyValueType switch
        {
            var k when k == typeof(int) => ClassLabels.AppendSteps(ml, chain, new[] { 0, 1 }, Index, predictedLabelColumn),
            var k when k == typeof(uint) => ClassLabels.AppendSteps(ml, chain, new[] { 0u, 1u }, Index, predictedLabelColumn),
            var k when k == typeof(long) => ClassLabels.AppendSteps(ml, chain, new[] { 0L, 1L }, Index, predictedLabelColumn),
            var k when k == typeof(float) => ClassLabels.AppendSteps(ml, chain, new[] { 0f, 1f }, Index, predictedLabelColumn),
            var k when k == typeof(double) => ClassLabels.AppendSteps(ml, chain, new[] { 0d, 1d }, Index, predictedLabelColumn),
            var k when k == typeof(bool) => ClassLabels.AppendSteps(ml, chain, new[] { false, true }, Index, predictedLabelColumn),
            _ => ClassLabels.AppendSteps(ml, chain, new[] { "a", "b" }, Index, predictedLabelColumn),
        };
        return chain.Append<ITransformer>(t.DropColumns(Vector)).GetOutputSchema(input);
    }
}
