using Onnx;

namespace MLStyle.Onnx;

/// <summary>
/// Static shape inference for the operators MLStyle builds and differentiates.
/// Unknown (symbolic) dimensions are -1; an operator it does not know yields unknown shapes, never wrong ones.
/// </summary>
internal static class ShapeInference
{
    /// <summary>Infers the outputs of <paramref name="node"/>.</summary>
    /// <param name="node">The node.</param>
    /// <param name="info">Known information about a tensor, or null.</param>
    /// <param name="constant">The value of a constant tensor (initializer or Constant output), or null.</param>
    public static TensorInfo?[] Infer(NodeProto node, Func<string, TensorInfo?> info, Func<string, TensorProto?> constant)
    {
        var outs = new TensorInfo?[node.Output.Count];
        try
        {
            InferInto(node, info, constant, outs);
        }
        catch (Exception e) when (e is not ModelException)
        {
            // Inference is advisory: leave shapes unknown.
        }
        return outs;
    }

    static TensorInfo? In(NodeProto n, int i, Func<string, TensorInfo?> info) =>
        i < n.Input.Count && n.Input[i].Length > 0 ? info(n.Input[i]) : null;

    static long[]? ConstInts(NodeProto n, int i, Func<string, TensorProto?> constant) =>
        i < n.Input.Count && n.Input[i].Length > 0 && constant(n.Input[i]) is { } t ? TensorProtos.ToInt64s(t) : null;

    static int Norm(long axis, int rank) => (int)(axis < 0 ? axis + rank : axis);

    static long[]? Broadcast(IEnumerable<long[]?> shapes)
    {
        var list = shapes.ToList();
        if (list.Any(s => s is null)) return null;
        int rank = list.Max(s => s!.Length);
        var r = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long d = 1; bool unknown = false;
            foreach (var s in list)
            {
                int j = i - (rank - s!.Length);
                if (j < 0) continue;
                long v = s[j];
                if (v == 1) continue;
                if (v < 0) { unknown = true; continue; }
                d = v;
            }
            r[i] = d == 1 && unknown ? -1 : d;
        }
        return r;
    }

    static long ConvOut(long size, long k, long s, long d, long pb, long pe, bool ceil)
    {
        if (size < 0) return -1;
        long eff = (k - 1) * d + 1;
        long num = size + pb + pe - eff;
        long o = ceil ? (long)Math.Ceiling(num / (double)s) + 1 : num / s + 1;
        if (ceil && (o - 1) * s >= size + pb) o--; // last window must start inside the input or left padding
        return o;
    }

    static void InferInto(NodeProto n, Func<string, TensorInfo?> info, Func<string, TensorProto?> constant, TensorInfo?[] outs)
    {
        var x = In(n, 0, info);
        int et = x?.ElemType ?? ElementType.Float;
        switch (n.OpType)
        {
            case "Identity": case "Relu": case "LeakyRelu": case "Sigmoid": case "Tanh": case "Neg": case "Sqrt": case "Exp":
            case "Log": case "Abs": case "Softmax": case "LogSoftmax": case "Clip": case "Dropout": case "Elu": case "Selu":
            case "InstanceNormalization": case "Reciprocal": case "Erf": case "Floor": case "Ceil": case "Sign": case "LRN":
            case "HardSigmoid": case "Softplus":
                outs[0] = x;
                if (n.OpType == "Dropout" && outs.Length > 1 && x?.Dims is not null) outs[1] = new TensorInfo(ElementType.Bool, x.Dims);
                break;
            case "BatchNormalization":
                outs[0] = x;
                break;
            case "Cast":
                outs[0] = new TensorInfo((int)n.GetInt("to", ElementType.Float), x?.Dims);
                break;
            case "Add": case "Sub": case "Mul": case "Div": case "Pow": case "Max": case "Min": case "Sum": case "Mean":
            {
                var shapes = n.Input.Where(s => s.Length > 0).Select(s => info(s)?.Dims).ToList();
                outs[0] = new TensorInfo(et, Broadcast(shapes));
                break;
            }
            case "Equal": case "Greater": case "Less": case "GreaterOrEqual": case "LessOrEqual": case "And": case "Or": case "Not":
            {
                var shapes = n.Input.Select(s => info(s)?.Dims).ToList();
                outs[0] = new TensorInfo(ElementType.Bool, Broadcast(shapes));
                break;
            }
            case "Where":
            {
                var shapes = n.Input.Select(s => info(s)?.Dims).ToList();
                outs[0] = new TensorInfo(In(n, 1, info)?.ElemType ?? ElementType.Float, Broadcast(shapes));
                break;
            }
            case "Conv": case "MaxPool": case "AveragePool": case "LpPool":
            {
                if (x?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                int sp = x.Dims.Length - 2;
                long[] k;
                long cout;
                if (n.OpType == "Conv")
                {
                    var w = In(n, 1, info);
                    if (w?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                    k = n.GetInts("kernel_shape") ?? w.Dims.Skip(2).ToArray();
                    cout = w.Dims[0];
                }
                else
                {
                    k = n.GetInts("kernel_shape")!;
                    cout = x.Dims[1];
                }
                var s = n.GetInts("strides") ?? Enumerable.Repeat(1L, sp).ToArray();
                var d = n.GetInts("dilations") ?? Enumerable.Repeat(1L, sp).ToArray();
                var pads = n.GetInts("pads") ?? new long[2 * sp];
                string autoPad = n.GetString("auto_pad", "NOTSET");
                bool ceil = n.GetInt("ceil_mode", 0) != 0;
                var dims = new long[sp + 2];
                dims[0] = x.Dims[0]; dims[1] = cout;
                for (int i = 0; i < sp; i++)
                {
                    long size = x.Dims[i + 2];
                    if (autoPad is "SAME_UPPER" or "SAME_LOWER") dims[i + 2] = size < 0 ? -1 : (size + s[i] - 1) / s[i];
                    else if (autoPad == "VALID") dims[i + 2] = ConvOut(size, k[i], s[i], d[i], 0, 0, ceil);
                    else dims[i + 2] = ConvOut(size, k[i], s[i], d[i], pads[i], pads[i + sp], ceil);
                }
                outs[0] = new TensorInfo(et, dims);
                if (outs.Length > 1) outs[1] = new TensorInfo(ElementType.Int64, dims);
                break;
            }
            case "ConvTranspose":
            {
                var w = In(n, 1, info);
                if (x?.Dims is null || w?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                int sp = x.Dims.Length - 2;
                long group = n.GetInt("group", 1);
                var k = n.GetInts("kernel_shape") ?? w.Dims.Skip(2).ToArray();
                var s = n.GetInts("strides") ?? Enumerable.Repeat(1L, sp).ToArray();
                var d = n.GetInts("dilations") ?? Enumerable.Repeat(1L, sp).ToArray();
                var pads = n.GetInts("pads") ?? new long[2 * sp];
                var op = n.GetInts("output_padding") ?? new long[sp];
                var os = n.GetInts("output_shape");
                var dims = new long[sp + 2];
                dims[0] = x.Dims[0]; dims[1] = w.Dims[1] * group;
                for (int i = 0; i < sp; i++)
                {
                    long size = x.Dims[i + 2];
                    dims[i + 2] = os is not null ? os[os.Length - sp + i]
                        : size < 0 ? -1 : s[i] * (size - 1) + op[i] + ((k[i] - 1) * d[i] + 1) - pads[i] - pads[i + sp];
                }
                outs[0] = new TensorInfo(et, dims);
                break;
            }
            case "DepthToSpace":
            {
                long bs = n.GetInt("blocksize", 1);
                outs[0] = x?.Dims is not { Length: 4 } d ? new TensorInfo(et, null)
                    : new TensorInfo(et, new[] { d[0], d[1] < 0 ? -1 : d[1] / (bs * bs), d[2] < 0 ? -1 : d[2] * bs, d[3] < 0 ? -1 : d[3] * bs });
                break;
            }
            case "GlobalAveragePool": case "GlobalMaxPool":
                outs[0] = x?.Dims is null ? new TensorInfo(et, null) : new TensorInfo(et, x.Dims.Select((v, i) => i < 2 ? v : 1).ToArray());
                break;
            case "MatMul":
            {
                var b = In(n, 1, info);
                if (x?.Dims is null || b?.Dims is null || x.Rank < 2 || b.Rank < 2) { outs[0] = new TensorInfo(et, null); break; }
                var batch = Broadcast(new[] { x.Dims[..^2], b.Dims[..^2] })!;
                outs[0] = new TensorInfo(et, batch.Concat(new[] { x.Dims[^2], b.Dims[^1] }).ToArray());
                break;
            }
            case "Gemm":
            {
                var b = In(n, 1, info);
                if (x?.Dims is null || b?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                long m = n.GetInt("transA", 0) != 0 ? x.Dims[1] : x.Dims[0];
                long nn = n.GetInt("transB", 0) != 0 ? b.Dims[0] : b.Dims[1];
                outs[0] = new TensorInfo(et, new[] { m, nn });
                break;
            }
            case "Flatten":
            {
                if (x?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                int axis = Norm(n.GetInt("axis", 1), x.Rank);
                long a = 1, b = 1;
                for (int i = 0; i < x.Rank; i++)
                {
                    ref long t = ref (i < axis ? ref a : ref b);
                    t = t < 0 || x.Dims[i] < 0 ? -1 : t * x.Dims[i];
                }
                outs[0] = new TensorInfo(et, new[] { a, b });
                break;
            }
            case "Reshape":
            {
                var shape = ConstInts(n, 1, constant);
                if (shape is null)
                {
                    // A runtime shape of known length still fixes the rank.
                    outs[0] = new TensorInfo(et, In(n, 1, info)?.Dims is [var len] && len >= 0 ? Enumerable.Repeat(-1L, (int)len).ToArray() : null);
                    break;
                }
                var dims = new long[shape.Length];
                long known = 1; int minus = -1; bool unknownIn = x?.Dims is null || !x.IsFullyKnown;
                for (int i = 0; i < shape.Length; i++)
                {
                    long v = shape[i];
                    if (v == 0) v = n.GetInt("allowzero", 0) != 0 ? 0 : x?.Dims is not null && i < x.Rank ? x.Dims[i] : -1;
                    if (v == -1 && shape[i] == -1) minus = i;
                    dims[i] = v;
                    if (i != minus) { if (v < 0) unknownIn = true; else known *= v; }
                }
                if (minus >= 0) dims[minus] = unknownIn || known == 0 ? -1 : x!.Count / known;
                outs[0] = new TensorInfo(et, dims);
                break;
            }
            case "Transpose":
            {
                if (x?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                var perm = n.GetInts("perm") ?? Enumerable.Range(0, x.Rank).Reverse().Select(i => (long)i).ToArray();
                outs[0] = new TensorInfo(et, perm.Select(p => x.Dims[p]).ToArray());
                break;
            }
            case "Concat":
            {
                var all = n.Input.Select(s => info(s)).ToList();
                if (all.Any(t => t?.Dims is null)) { outs[0] = new TensorInfo(et, null); break; }
                int rank = all[0]!.Rank;
                int axis = Norm(n.GetInt("axis", 0), rank);
                var dims = (long[])all[0]!.Dims!.Clone();
                dims[axis] = all.Any(t => t!.Dims![axis] < 0) ? -1 : all.Sum(t => t!.Dims![axis]);
                for (int i = 0; i < rank; i++) if (i != axis && dims[i] < 0) dims[i] = all.Select(t => t!.Dims![i]).FirstOrDefault(v => v >= 0, -1);
                outs[0] = new TensorInfo(et, dims);
                break;
            }
            case "Slice":
            {
                if (x?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                var starts = ConstInts(n, 1, constant); var ends = ConstInts(n, 2, constant);
                var axes = ConstInts(n, 3, constant) ?? Enumerable.Range(0, starts?.Length ?? 0).Select(i => (long)i).ToArray();
                var steps = ConstInts(n, 4, constant) ?? Enumerable.Repeat(1L, axes.Length).ToArray();
                var dims = (long[])x.Dims.Clone();
                if (starts is null || ends is null) { foreach (var a in axes) dims[Norm(a, x.Rank)] = -1; outs[0] = new TensorInfo(et, dims); break; }
                for (int i = 0; i < axes.Length; i++)
                {
                    int a = Norm(axes[i], x.Rank);
                    dims[a] = SliceLength(x.Dims[a], starts[i], ends[i], steps[i]);
                }
                outs[0] = new TensorInfo(et, dims);
                break;
            }
            case "Pad":
            {
                var pads = ConstInts(n, 1, constant) ?? n.GetInts("pads");
                if (x?.Dims is null || pads is null) { outs[0] = new TensorInfo(et, x?.Dims is null ? null : x.Dims.Select(_ => -1L).ToArray()); break; }
                var axes = ConstInts(n, 3, constant) ?? Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
                var dims = (long[])x.Dims.Clone();
                for (int i = 0; i < axes.Length; i++)
                {
                    int a = Norm(axes[i], x.Rank);
                    dims[a] = dims[a] < 0 ? -1 : dims[a] + pads[i] + pads[i + axes.Length];
                }
                outs[0] = new TensorInfo(et, dims);
                break;
            }
            case "ReduceMean": case "ReduceSum": case "ReduceMax": case "ReduceMin": case "ReduceProd": case "ReduceL2": case "ReduceSumSquare":
            {
                if (x?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                var axes = n.GetInts("axes") ?? ConstInts(n, 1, constant);
                bool keep = n.GetInt("keepdims", 1) != 0;
                bool noopEmpty = n.GetInt("noop_with_empty_axes", 0) != 0;
                if (axes is null || axes.Length == 0)
                {
                    if (noopEmpty) { outs[0] = x; break; }
                    axes = Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
                }
                var set = axes.Select(a => Norm(a, x.Rank)).ToHashSet();
                var dims = new List<long>();
                for (int i = 0; i < x.Rank; i++)
                    if (!set.Contains(i)) dims.Add(x.Dims[i]);
                    else if (keep) dims.Add(1);
                outs[0] = new TensorInfo(et, dims.ToArray());
                break;
            }
            case "Shape":
                outs[0] = new TensorInfo(ElementType.Int64, new long[] { x?.Rank ?? -1 });
                break;
            case "Size":
                outs[0] = new TensorInfo(ElementType.Int64, Array.Empty<long>());
                break;
            case "Gather":
            {
                var idx = In(n, 1, info);
                if (x?.Dims is null || idx?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                int axis = Norm(n.GetInt("axis", 0), x.Rank);
                outs[0] = new TensorInfo(et, x.Dims[..axis].Concat(idx.Dims).Concat(x.Dims[(axis + 1)..]).ToArray());
                break;
            }
            case "Unsqueeze":
            {
                var axes = ConstInts(n, 1, constant) ?? n.GetInts("axes");
                if (x?.Dims is null || axes is null) { outs[0] = new TensorInfo(et, null); break; }
                int rank = x.Rank + axes.Length;
                var set = axes.Select(a => Norm(a, rank)).ToHashSet();
                var dims = new long[rank]; int j = 0;
                for (int i = 0; i < rank; i++) dims[i] = set.Contains(i) ? 1 : x.Dims[j++];
                outs[0] = new TensorInfo(et, dims);
                break;
            }
            case "Squeeze":
            {
                var axes = ConstInts(n, 1, constant) ?? n.GetInts("axes");
                if (x?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                var set = axes?.Select(a => Norm(a, x.Rank)).ToHashSet() ?? Enumerable.Range(0, x.Rank).Where(i => x.Dims[i] == 1).ToHashSet();
                outs[0] = new TensorInfo(et, x.Dims.Where((_, i) => !set.Contains(i)).ToArray());
                break;
            }
            case "Expand":
            {
                var shape = ConstInts(n, 1, constant);
                if (shape is null && x?.Dims is not null && In(n, 1, info)?.Dims is [var len] && len >= 0)
                    shape = Enumerable.Repeat(-1L, (int)len).ToArray(); // a runtime shape of known length: rank known, sizes not
                outs[0] = new TensorInfo(et, shape is null || x?.Dims is null ? null : Broadcast(new[] { x.Dims, shape }));
                break;
            }
            case "ConstantOfShape":
            {
                var shape = ConstInts(n, 0, constant);
                var v = n.Find("value")?.T;
                outs[0] = new TensorInfo(v?.DataType ?? ElementType.Float, shape);
                break;
            }
            case "Constant":
            {
                var v = n.Find("value")?.T;
                if (v is not null) outs[0] = new TensorInfo(v.DataType, v.Dims.ToArray());
                break;
            }
            case "Resize": case "Upsample":
            {
                if (x?.Dims is null) { outs[0] = new TensorInfo(et, null); break; }
                var sizes = n.OpType == "Resize" ? ConstInts(n, 3, constant) : null;
                if (sizes is not null) { outs[0] = new TensorInfo(et, sizes); break; }
                var scalesT = n.Input.Count > (n.OpType == "Resize" ? 2 : 1) ? constant(n.Input[n.OpType == "Resize" ? 2 : 1]) : null;
                var scales = scalesT is not null ? TensorProtos.ToFloats(scalesT) : n.GetFloats("scales");
                if (scales is null || scales.Length != x.Rank) { outs[0] = new TensorInfo(et, x.Dims.Select(_ => -1L).ToArray()); break; }
                outs[0] = new TensorInfo(et, x.Dims.Select((d, i) => d < 0 ? -1 : (long)Math.Floor(d * scales[i])).ToArray());
                break;
            }
            case "ScatterElements": case "ScatterND":
                outs[0] = x;
                break;
            case "Split":
            {
                if (x?.Dims is null) break;
                int axis = Norm(n.GetInt("axis", 0), x.Rank);
                var split = ConstInts(n, 1, constant) ?? n.GetInts("split");
                for (int i = 0; i < outs.Length; i++)
                {
                    var dims = (long[])x.Dims.Clone();
                    dims[axis] = split is not null ? split[i] : x.Dims[axis] < 0 ? -1 : x.Dims[axis] / outs.Length;
                    outs[i] = new TensorInfo(et, dims);
                }
                break;
            }
            case "Range":
                outs[0] = new TensorInfo(et, new long[] { -1 });
                break;
            case "Tile":
            {
                var reps = ConstInts(n, 1, constant);
                outs[0] = x?.Dims is null || reps is null ? new TensorInfo(et, null)
                    : new TensorInfo(et, x.Dims.Select((d, i) => d < 0 ? -1 : d * reps[i]).ToArray());
                break;
            }
            case "ArgMax": case "ArgMin":
            {
                if (x?.Dims is null) { outs[0] = new TensorInfo(ElementType.Int64, null); break; }
                int axis = Norm(n.GetInt("axis", 0), x.Rank);
                bool keep = n.GetInt("keepdims", 1) != 0;
                var dims = x.Dims.Select((d, i) => i == axis ? 1 : d).Where((_, i) => keep || i != axis).ToArray();
                outs[0] = new TensorInfo(ElementType.Int64, dims);
                break;
            }
        }
    }

    /// <summary>Length of a slice along one axis (ONNX Slice semantics), or -1 when the dimension is unknown.</summary>
    public static long SliceLength(long dim, long start, long end, long step)
    {
        if (dim < 0) return -1;
        var (s, e) = SliceBounds(dim, start, end, step);
        return step > 0 ? Math.Max(0, (e - s + step - 1) / step) : Math.Max(0, (s - e + (-step) - 1) / (-step));
    }

    /// <summary>Clamped start and end of a slice along an axis of length <paramref name="dim"/>.</summary>
    public static (long Start, long End) SliceBounds(long dim, long start, long end, long step)
    {
        if (start < 0) start += dim;
        if (end < 0) end += dim;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
        }
        else
        {
            start = Math.Clamp(start, 0, dim - 1);
            end = Math.Clamp(end, -1, dim - 1);
        }
        return (start, end);
    }
}
