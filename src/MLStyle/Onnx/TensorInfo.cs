namespace MLStyle.Onnx;

/// <summary>
/// What is statically known about a tensor: its element type and shape.
/// <see cref="Dims"/> is null when the rank is unknown; a dimension of -1 is unknown (symbolic).
/// </summary>
public sealed record TensorInfo(int ElemType, long[]? Dims)
{
    /// <summary>The rank, or -1 when unknown.</summary>
    public int Rank => Dims?.Length ?? -1;

    /// <summary>True when every dimension is known.</summary>
    public bool IsFullyKnown => Dims is not null && Dims.All(d => d >= 0);

    /// <summary>Number of elements when fully known, otherwise -1.</summary>
    public long Count => IsFullyKnown ? Dims!.Aggregate(1L, (a, b) => a * b) : -1;

    /// <summary>A float tensor of the given shape.</summary>
    public static TensorInfo Float(params long[] dims) => new(ElementType.Float, dims);

    /// <inheritdoc />
    public override string ToString() =>
        Dims is null ? $"type{ElemType}[?]" : $"type{ElemType}[{string.Join(",", Dims.Select(d => d < 0 ? "?" : d.ToString()))}]";
}
