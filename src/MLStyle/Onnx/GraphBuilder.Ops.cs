namespace MLStyle.Onnx;

// Typed helpers for the operators MLStyle emits (opset 17 semantics).
public sealed partial class GraphBuilder
{
    readonly Dictionary<string, string> _shapeCache = new();

    public string Add(string a, string b) => Node("Add", new[] { a, b });
    public string Sub(string a, string b) => Node("Sub", new[] { a, b });
    public string Mul(string a, string b) => Node("Mul", new[] { a, b });
    public string Div(string a, string b) => Node("Div", new[] { a, b });
    public string Neg(string a) => Node("Neg", new[] { a });
    public string Sqrt(string a) => Node("Sqrt", new[] { a });
    public string Exp(string a) => Node("Exp", new[] { a });
    public string Log(string a) => Node("Log", new[] { a });
    public string Relu(string a) => Node("Relu", new[] { a });
    public string Identity(string a, string? hint = null) => Node("Identity", new[] { a }, hint);
    public string MatMul(string a, string b) => Node("MatMul", new[] { a, b });
    public string Where(string cond, string a, string b) => Node("Where", new[] { cond, a, b });
    public string Greater(string a, string b) => Node("Greater", new[] { a, b });
    public string Less(string a, string b) => Node("Less", new[] { a, b });
    public string Equal(string a, string b) => Node("Equal", new[] { a, b });
    public string Cast(string a, int to) => Node("Cast", new[] { a }, null, ("to", to));
    public string Mul(string a, float s) => s == 1f ? a : Mul(a, Scalar(s));
    public string Square(string a) => Mul(a, a);

    /// <summary>Element-wise sum of any number of tensors (the tensor itself for one).</summary>
    public string Sum(IReadOnlyList<string> terms) => terms.Count switch
    {
        0 => throw new ArgumentException("nothing to sum"),
        1 => terms[0],
        2 => Add(terms[0], terms[1]),
        _ => Node("Sum", terms),
    };

    public string Transpose(string a, params long[] perm) => Node("Transpose", new[] { a }, null, ("perm", perm));

    /// <summary>Swaps the last two axes.</summary>
    public string TransposeLast2(string a)
    {
        int r = Rank(a);
        var perm = Enumerable.Range(0, r).Select(i => (long)i).ToArray();
        (perm[r - 1], perm[r - 2]) = (perm[r - 2], perm[r - 1]);
        return Transpose(a, perm);
    }

    public string Reshape(string a, string shape) => Node("Reshape", new[] { a, shape });
    public string Reshape(string a, params long[] shape) => Reshape(a, Ints(shape));

    /// <summary>Reshapes <paramref name="a"/> to the (runtime) shape of <paramref name="like"/>.</summary>
    public string ReshapeLike(string a, string like)
    {
        var da = Dims(a); var dl = Dims(like);
        if (da is not null && dl is not null && da.SequenceEqual(dl) && da.All(d => d >= 0)) return a;
        if (dl is not null && dl.All(d => d >= 0)) return Reshape(a, dl);
        // A runtime shape: inference cannot see it, but the result has exactly like's (partly symbolic) shape.
        return WithShapeOf(Reshape(a, ShapeOf(like)), a, like);
    }

    /// <summary>Broadcasts <paramref name="a"/> to the (runtime) shape of <paramref name="like"/>.</summary>
    public string ExpandLike(string a, string like) => WithShapeOf(Expand(a, ShapeOf(like)), a, like);

    /// <summary>Records that <paramref name="t"/> (computed from <paramref name="from"/>) has <paramref name="like"/>'s shape.</summary>
    string WithShapeOf(string t, string from, string like)
    {
        if (Dims(like) is { } dl) SetInfo(t, new TensorInfo(Info(from)?.ElemType ?? ElementType.Float, dl));
        return t;
    }

    /// <summary>The runtime shape of a tensor (one Shape node per tensor).</summary>
    public string ShapeOf(string a)
    {
        if (_shapeCache.TryGetValue(a, out var s)) return s;
        if (Dims(a) is { } d && d.All(v => v >= 0)) return _shapeCache[a] = Ints(d);
        return _shapeCache[a] = Node("Shape", new[] { a }, "shape");
    }

    /// <summary>A 1-D int64 tensor holding dims [start, end) of <paramref name="a"/>'s shape.</summary>
    public string ShapeSlice(string a, int start, int end)
    {
        if (Dims(a) is { } d && d[start..end].All(v => v >= 0)) return Ints(d[start..end]);
        return Slice(ShapeOf(a), new long[] { start }, new long[] { end }, new long[] { 0 });
    }

    public string ReduceSum(string a, long[]? axes, bool keepdims) =>
        axes is null || axes.Length == 0
            ? Node("ReduceSum", new[] { a }, null, ("keepdims", keepdims ? 1 : 0))
            : Node("ReduceSum", new[] { a, Ints(axes) }, null, ("keepdims", keepdims ? 1 : 0));

    public string ReduceMean(string a, long[]? axes, bool keepdims) =>
        axes is null || axes.Length == 0
            ? Node("ReduceMean", new[] { a }, null, ("keepdims", keepdims ? 1 : 0))
            : Node("ReduceMean", new[] { a }, null, ("axes", axes), ("keepdims", keepdims ? 1 : 0));

    public string Concat(int axis, params string[] parts) => Node("Concat", parts, null, ("axis", axis));

    public string Slice(string a, long[] starts, long[] ends, long[] axes, long[]? steps = null) =>
        steps is null
            ? Node("Slice", new[] { a, Ints(starts), Ints(ends), Ints(axes) })
            : Node("Slice", new[] { a, Ints(starts), Ints(ends), Ints(axes), Ints(steps) });

    public string Pad(string a, long[] pads, string mode = "constant") =>
        Node("Pad", new[] { a, Ints(pads) }, null, ("mode", mode));

    public string Expand(string a, string shape) => Node("Expand", new[] { a, shape });

    /// <summary>A float tensor of zeros with the runtime shape of <paramref name="like"/>.</summary>
    public string ZerosLike(string like) =>
        WithShapeOf(Node("ConstantOfShape", new[] { ShapeOf(like) }, "zeros", ("value", TensorProtos.FromFloats("", new[] { 0f }, 1))), like, like);

    /// <summary>A float tensor of ones with the runtime shape of <paramref name="like"/>.</summary>
    public string OnesLike(string like) =>
        WithShapeOf(Node("ConstantOfShape", new[] { ShapeOf(like) }, "ones", ("value", TensorProtos.FromFloats("", new[] { 1f }, 1))), like, like);

    /// <summary>
    /// Sums <paramref name="grad"/> over the axes along which <paramref name="operand"/> was broadcast
    /// and reshapes the result to the operand's shape.
    /// </summary>
    public string ReduceToShape(string grad, string operand)
    {
        var dg = Dims(grad); var dop = Dims(operand);
        if (dg is null || dop is null) throw new ModelException($"cannot reduce a broadcast gradient to the shape of '{operand}': unknown rank");
        var axes = new List<long>();
        int lead = dg.Length - dop.Length;
        for (int i = 0; i < lead; i++) axes.Add(i);
        for (int i = 0; i < dop.Length; i++)
        {
            long o = dop[i], g = dg[i + lead];
            if (o == 1 && g != 1) axes.Add(i + lead);
        }
        var r = axes.Count == 0 ? grad : ReduceSum(grad, axes.ToArray(), keepdims: true);
        if (lead > 0 || axes.Count > 0) r = ReshapeLike(r, operand);
        return r;
    }

    /// <summary>
    /// Crops or zero-pads the spatial axes (2 and beyond) of <paramref name="a"/> at their end so that they match
    /// <paramref name="like"/>'s spatial shape; static when shapes are known, otherwise computed at run time.
    /// </summary>
    public string FitSpatial(string a, string like)
    {
        var da = Dims(a); var dl = Dims(like);
        int rank = dl?.Length ?? Rank(a);
        int sp = rank - 2;
        if (da is not null && dl is not null && da.Skip(2).All(v => v >= 0) && dl.Skip(2).All(v => v >= 0))
        {
            var diff = Enumerable.Range(2, sp).Select(i => dl[i] - da[i]).ToArray();
            if (diff.All(v => v == 0)) return a;
            var r = a;
            if (diff.Any(v => v > 0))
            {
                var pads = new long[2 * rank];
                for (int i = 0; i < sp; i++) pads[rank + 2 + i] = Math.Max(0, diff[i]);
                r = Pad(r, pads);
            }
            if (diff.Any(v => v < 0))
                r = Slice(r, Enumerable.Repeat(0L, sp).ToArray(), Enumerable.Range(2, sp).Select(i => dl[i]).ToArray(), Enumerable.Range(2, sp).Select(i => (long)i).ToArray());
            SetInfo(r, new TensorInfo(Info(a)!.ElemType, da.Take(2).Concat(dl.Skip(2)).ToArray()));
            return r;
        }
        // Dynamic: pad by max(0, target - current) at the end, then slice to the target.
        var target = ShapeSlice(like, 2, rank);
        var current = ShapeSlice(a, 2, rank);
        var grow = Node("Max", new[] { Sub(target, current), Ints(Enumerable.Repeat(0L, sp).ToArray()) });
        var padsDyn = Concat(0, Ints(Enumerable.Repeat(0L, rank + 2).ToArray()), grow);
        var padded = Node("Pad", new[] { a, padsDyn }, null, ("mode", "constant"));
        var axes = Ints(Enumerable.Range(2, sp).Select(i => (long)i).ToArray());
        var res = Node("Slice", new[] { padded, Ints(Enumerable.Repeat(0L, sp).ToArray()), target, axes });
        if (da is not null) SetInfo(res, new TensorInfo(Info(a)!.ElemType, da.Take(2).Concat(dl?.Skip(2) ?? Enumerable.Repeat(-1L, sp)).ToArray()));
        return res;
    }
}

public sealed partial class GraphBuilder
{
    /// <summary>The product of dims [fromAxis, rank) of a tensor as a float scalar (a constant when known).</summary>
    public string ElementCount(string x, int fromAxis = 0)
    {
        var dims = Dims(x) ?? throw new ModelException($"the rank of tensor '{x}' is unknown");
        if (dims.Skip(fromAxis).All(v => v >= 0)) return Scalar(dims.Skip(fromAxis).Aggregate(1L, (p, v) => p * v));
        var prod = Node("ReduceProd", new[] { ShapeSlice(x, fromAxis, dims.Length) }, null, ("keepdims", 0));
        return Cast(prod, ElementType.Float);
    }
}
