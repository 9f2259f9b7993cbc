using Onnx;

namespace MLStyle.Onnx;

/// <summary>
/// Checks a model before MLStyle uses it, so a malformed or hostile model fails with one line instead of reaching the
/// differentiator, the graph rewrites or ONNX Runtime: the graph is a DAG in topological order with every input
/// defined (subgraphs see their outer scopes); every node is of the standard ONNX domain, at an opset MLStyle knows;
/// every tensor's dimensions are non-negative, their product fits, and its data length matches them; declared shapes
/// are non-negative; the ranks and attributes of the operators MLStyle rewrites or differentiates are in range (Conv,
/// pooling, normalisation, Gemm).
/// </summary>
internal static class ModelValidator
{
    /// <summary>Validates <paramref name="model"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="ModelException">The first problem found, in one line.</exception>
    public static void Validate(ModelProto model, string source = "model")
    {
        ArgumentNullException.ThrowIfNull(model);
        ModelException Bad(string problem) => new($"'{source}' is not a valid model: {problem}");
        if (model.Graph is null) throw Bad("it has no graph");

        long opset = 0;
        foreach (var o in model.OpsetImport)
        {
            if (!IsStandard(o.Domain)) continue;
            if (o.Version < 1 || o.Version > OnnxModels.TargetOpset)
                throw Bad($"opset {o.Version} of the standard domain is not supported (MLStyle knows opsets 1 to {OnnxModels.TargetOpset})");
            opset = o.Version;
        }
        if (opset == 0) throw Bad("it imports no opset of the standard ONNX domain");

        foreach (var (t, where) in ExternalData.Tensors(model))
            if (CheckTensor(t) is { } problem) throw Bad($"tensor '{t.Name}' ({where}) {problem}");

        CheckGraph(model.Graph, opset, new HashSet<string>(StringComparer.Ordinal), Bad, depth: 0);
    }

    static bool IsStandard(string? domain) => string.IsNullOrEmpty(domain) || domain == "ai.onnx";

    static void CheckGraph(GraphProto g, long opset, HashSet<string> outer, Func<string, ModelException> bad, int depth)
    {
        if (depth > 32) throw bad("subgraphs are nested more than 32 deep");
        var defined = new HashSet<string>(outer, StringComparer.Ordinal);
        var info = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        var constants = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var v in g.Input.Concat(g.Output).Concat(g.ValueInfo))
            if (DeclaredDims(v) is { } dims)
            {
                if (dims.Any(d => d < -1)) throw bad($"tensor '{v.Name}' is declared with a negative dimension");
                info.TryAdd(v.Name, new TensorInfo(v.Type.TensorType.ElemType, dims));
            }
        foreach (var i in g.Input) defined.Add(i.Name);
        foreach (var t in g.Initializer)
        {
            defined.Add(t.Name);
            constants[t.Name] = t;
            info[t.Name] = new TensorInfo(t.DataType, t.Dims.ToArray());
        }
        foreach (var s in g.SparseInitializer)
            if (s.Values is { } v) defined.Add(v.Name);

        var produced = new HashSet<string>(StringComparer.Ordinal);
        var own = g.Input.Select(i => i.Name).Concat(g.Initializer.Select(t => t.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            if (!IsStandard(n.Domain))
                throw bad($"{n.Describe()} is of operator domain '{n.Domain}', which MLStyle does not support (only the standard ONNX operators)");
            foreach (var input in n.Input)
                if (input.Length > 0 && !defined.Contains(input))
                    throw bad($"{n.Describe()} uses '{input}', which no earlier node, input or initializer defines (a cycle, a wrong order or a missing tensor)");
            foreach (var a in n.Attribute)
            {
                if (a.G is not null) CheckGraph(a.G, opset, defined, bad, depth + 1);
                foreach (var sub in a.Graphs) CheckGraph(sub, opset, defined, bad, depth + 1);
            }
            CheckNode(n, opset, name => info.GetValueOrDefault(name), bad);
            if (n.OpType == "Constant" && n.Output.Count == 1 && n.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } value)
                constants[n.Output[0]] = value;
            var outs = ShapeInference.Infer(n, name => info.GetValueOrDefault(name), name => constants.GetValueOrDefault(name));
            for (int i = 0; i < n.Output.Count; i++)
            {
                var o = n.Output[i];
                if (o.Length == 0) continue;
                if (!produced.Add(o) || own.Contains(o))
                    throw bad($"tensor '{o}' is defined twice");
                defined.Add(o);
                if (i < outs.Length && outs[i] is { } ti) info[o] = ti;
            }
        }
        foreach (var o in g.Output)
            if (!defined.Contains(o.Name)) throw bad($"graph output '{o.Name}' is not computed by the graph");
    }

    static long[]? DeclaredDims(ValueInfoProto v)
    {
        if (v.Type?.TensorType?.Shape is not { } shape) return null;
        return shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? (d.DimValue < 0 ? -2 : d.DimValue) : -1).ToArray();
    }

    /// <summary>
    /// Inputs (required, most) and outputs (most) of the operators MLStyle rewrites or differentiates. The operators whose
    /// attributes became inputs over the opsets (Reshape, Slice, Pad, Squeeze, …) require only their first input.
    /// </summary>
    static readonly Dictionary<string, (int Min, int Max, int MaxOut)> Arity = new(StringComparer.Ordinal)
    {
        ["Conv"] = (2, 3, 1), ["ConvTranspose"] = (2, 3, 1), ["BatchNormalization"] = (5, 5, 5), ["InstanceNormalization"] = (3, 3, 1),
        ["Relu"] = (1, 1, 1), ["LeakyRelu"] = (1, 1, 1), ["Sigmoid"] = (1, 1, 1), ["Tanh"] = (1, 1, 1), ["Identity"] = (1, 1, 1),
        ["Neg"] = (1, 1, 1), ["Sqrt"] = (1, 1, 1), ["Exp"] = (1, 1, 1), ["Log"] = (1, 1, 1), ["Abs"] = (1, 1, 1), ["Reciprocal"] = (1, 1, 1),
        ["MaxPool"] = (1, 1, 2), ["AveragePool"] = (1, 1, 1), ["GlobalAveragePool"] = (1, 1, 1), ["GlobalMaxPool"] = (1, 1, 1),
        ["Add"] = (2, 2, 1), ["Sub"] = (2, 2, 1), ["Mul"] = (2, 2, 1), ["Div"] = (2, 2, 1), ["Pow"] = (2, 2, 1), ["MatMul"] = (2, 2, 1),
        ["Sum"] = (1, int.MaxValue, 1), ["Concat"] = (1, int.MaxValue, 1), ["Gemm"] = (2, 3, 1), ["Flatten"] = (1, 1, 1),
        ["Reshape"] = (1, 2, 1), ["Squeeze"] = (1, 2, 1), ["Unsqueeze"] = (1, 2, 1), ["Expand"] = (2, 2, 1), ["Transpose"] = (1, 1, 1),
        ["Slice"] = (1, 5, 1), ["Pad"] = (1, 4, 1), ["ReduceMean"] = (1, 2, 1), ["ReduceSum"] = (1, 2, 1), ["ReduceMax"] = (1, 2, 1),
        ["Softmax"] = (1, 1, 1), ["LogSoftmax"] = (1, 1, 1), ["Resize"] = (1, 4, 1), ["Upsample"] = (1, 2, 1), ["Clip"] = (1, 3, 1),
        ["Cast"] = (1, 1, 1), ["Dropout"] = (1, 3, 2), ["Constant"] = (0, 0, 1), ["Shape"] = (1, 1, 1), ["Gather"] = (2, 2, 1),
    };

    /// <summary>Operators whose attributes became required inputs: from that opset on they need this many inputs.</summary>
    static readonly Dictionary<string, (long Since, int Min)> InputsSince = new(StringComparer.Ordinal)
    {
        ["Reshape"] = (5, 2), ["Pad"] = (11, 2), ["Slice"] = (10, 3), ["Unsqueeze"] = (13, 2), ["Upsample"] = (9, 2),
    };

    /// <summary>The arity, ranks and attributes of the operators MLStyle rewrites and differentiates.</summary>
    static void CheckNode(NodeProto n, long opset, Func<string, TensorInfo?> info, Func<string, ModelException> bad)
    {
        if (n.Output.Count == 0 || n.Output.All(o => o.Length == 0)) throw bad($"{n.Describe()} has no output");
        if (Arity.TryGetValue(n.OpType, out var arity))
        {
            if (InputsSince.TryGetValue(n.OpType, out var since) && opset >= since.Since) arity = (since.Min, arity.Max, arity.MaxOut);
            int given = n.Input.Count;
            if (given < arity.Min || given > arity.Max || n.Input.Take(arity.Min).Any(i => i.Length == 0))
                throw bad($"{n.Describe()} has {given} inputs; {n.OpType} takes {(arity.Min == arity.Max ? arity.Min.ToString() : arity.Max == int.MaxValue ? $"{arity.Min} or more" : $"{arity.Min} to {arity.Max}")}");
            if (n.Output.Count > arity.MaxOut) throw bad($"{n.Describe()} has {n.Output.Count} outputs; {n.OpType} has at most {arity.MaxOut}");
        }
        int Rank(int i) => i < n.Input.Count && n.Input[i].Length > 0 && info(n.Input[i]) is { Rank: >= 0 } t ? t.Rank : -1;
        void Need(bool ok, string what)
        {
            if (!ok) throw bad($"{n.Describe()}: {what}");
        }
        void Positive(string attr, long min)
        {
            if (n.GetInts(attr) is { } v) Need(v.All(x => x >= min), $"attribute {attr} must be at least {min}");
        }
        switch (n.OpType)
        {
            case "Conv":
            case "ConvTranspose":
                Need(n.Input.Count >= 2, "needs an input and a weight");
                Need(n.GetInt("group", 1) >= 1, $"group {n.GetInt("group", 1)} must be at least 1");
                int x = Rank(0), w = Rank(1);
                Need(x is -1 or >= 3, $"its input has rank {x}; a convolution needs rank 3 or more (N, C, spatial…)");
                Need(w is -1 or >= 3, $"its weight has rank {w}; it needs rank 3 or more");
                Need(x == -1 || w == -1 || x == w, $"its input (rank {x}) and weight (rank {w}) differ in rank");
                if (info(n.Input[1]) is { Dims: { Length: >= 1 } wd } && wd[0] >= 0 && n.OpType == "Conv")
                    Need(wd[0] % n.GetInt("group", 1) == 0, $"{wd[0]} output channels are not divisible by group {n.GetInt("group", 1)}");
                int spatial = Math.Max(x, w) - 2;
                Positive("kernel_shape", 1); Positive("strides", 1); Positive("dilations", 1); Positive("pads", 0);
                if (spatial > 0)
                {
                    foreach (var a in new[] { "kernel_shape", "strides", "dilations" })
                        if (n.GetInts(a) is { } v) Need(v.Length == spatial, $"attribute {a} has {v.Length} values for {spatial} spatial dimensions");
                    if (n.GetInts("pads") is { } p) Need(p.Length == 2 * spatial, $"attribute pads has {p.Length} values for {spatial} spatial dimensions");
                }
                break;
            case "MaxPool":
            case "AveragePool":
            case "LpPool":
                Need(n.GetInts("kernel_shape") is { Length: > 0 }, "attribute kernel_shape is missing");
                int px = Rank(0);
                Need(px is -1 or >= 3, $"its input has rank {px}; pooling needs rank 3 or more");
                Positive("kernel_shape", 1); Positive("strides", 1); Positive("dilations", 1); Positive("pads", 0);
                int k = n.GetInts("kernel_shape")!.Length;
                if (px >= 3) Need(k == px - 2, $"attribute kernel_shape has {k} values for {px - 2} spatial dimensions");
                foreach (var a in new[] { "strides", "dilations" })
                    if (n.GetInts(a) is { } v) Need(v.Length == k, $"attribute {a} has {v.Length} values for {k} spatial dimensions");
                if (n.GetInts("pads") is { } pp) Need(pp.Length == 2 * k, $"attribute pads has {pp.Length} values for {k} spatial dimensions");
                break;
            case "GlobalAveragePool":
            case "GlobalMaxPool":
            case "BatchNormalization":
            case "InstanceNormalization":
                int r = Rank(0);
                Need(r is -1 or >= 2, $"its input has rank {r}; it needs rank 2 or more");
                break;
            case "Gemm":
                Need(Rank(0) is -1 or 2 && Rank(1) is -1 or 2, "Gemm needs rank-2 operands");
                break;
            case "Loop":
            case "If":
            case "Scan":
                break;
        }
    }

    /// <summary>Null when the tensor's shape and data agree, else what is wrong.</summary>
    static string? CheckTensor(TensorProto t)
    {
        long count = 1;
        foreach (var d in t.Dims)
        {
            if (d < 0) return $"has a negative dimension {d}";
            try { count = checked(count * d); }
            catch (OverflowException) { return "has dimensions whose product overflows"; }
        }
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0) return "still refers to external data";
        int size = ElementSize(t.DataType);
        if (t.DataType is 0 or > 16 || (size == 0 && t.DataType != 8))
            return $"has an unknown element type {t.DataType}";
        if (!t.RawData.IsEmpty)
        {
            if (t.DataType == 8) return "stores strings as raw data";
            if (count > long.MaxValue / size || t.RawData.Length != count * size)
                return $"has {t.RawData.Length} bytes of data, but its shape [{string.Join(",", t.Dims)}] needs {(count > long.MaxValue / size ? "more" : (count * size).ToString())}";
            return null;
        }
        long typed = t.DataType switch
        {
            1 => t.FloatData.Count,
            2 or 3 or 4 or 5 or 6 or 9 or 10 or 16 => t.Int32Data.Count,
            7 => t.Int64Data.Count,
            8 => t.StringData.Count,
            11 => t.DoubleData.Count,
            12 or 13 => t.Uint64Data.Count,
            14 => t.FloatData.Count / 2,
            15 => t.DoubleData.Count / 2,
            _ => 0,
        };
        if (typed != count) return $"has {typed} values, but its shape [{string.Join(",", t.Dims)}] holds {count}";
        return null;
    }

    /// <summary>Bytes per element of an ONNX element type (0 for strings and unknown types).</summary>
    public static int ElementSize(int dataType) => dataType switch
    {
        1 or 6 or 12 => 4,
        2 or 3 or 9 => 1,
        4 or 5 or 10 or 16 => 2,
        7 or 11 or 13 or 14 => 8,
        15 => 16,
        _ => 0,
    };
}
