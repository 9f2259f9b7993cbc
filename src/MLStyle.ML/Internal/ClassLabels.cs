using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLStyle.ML.Internal;

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

    /// <summary>The label's key values (as text for display and export) and how to map a class index back to them.</summary>
    public static ClassLabels FromKeyValues(DataViewSchema.Column label, int classes)
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
