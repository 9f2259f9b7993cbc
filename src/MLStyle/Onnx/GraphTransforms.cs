using Onnx;

namespace MLStyle.Onnx;

/// <summary>Whole-graph rewrites: opset upgrade, symbolic dimensions, exposing and pruning outputs, BatchNorm folding.</summary>
public static class GraphTransforms
{
    /// <summary>
    /// Brings a model's default-domain nodes up to <see cref="OnnxModels.TargetOpset"/> (17), rewriting the operators whose
    /// signature changed since opset 1 (BatchNormalization's spatial, Dropout, Pad/Slice/Squeeze/Unsqueeze/ReduceSum/Split/Clip
    /// attributes that became inputs, Upsample, pre-13 Softmax, legacy broadcast attributes).
    /// The model is edited in place; other domains are refused.
    /// </summary>
    public static void UpgradeOpset(ModelProto model)
    {
        long from = OnnxModels.Opset(model);
        if (model.OpsetImport.Any(o => !string.IsNullOrEmpty(o.Domain) && o.Domain != "ai.onnx"))
            throw new ModelException($"model uses operator domain '{model.OpsetImport.First(o => !string.IsNullOrEmpty(o.Domain) && o.Domain != "ai.onnx").Domain}', which MLStyle does not support");
        if (from > OnnxModels.TargetOpset)
            throw new ModelException($"model opset {from} is newer than MLStyle's opset {OnnxModels.TargetOpset}");
        var g = model.Graph;
        var nodes = g.Node.ToList();
        g.Node.Clear();
        var b = new GraphBuilder(model); // empty node list: knows inputs and initializers
        var usedOutputs = nodes.SelectMany(n => n.Input).Concat(g.Output.Select(o => o.Name)).ToHashSet();
        foreach (var n in nodes)
        {
            foreach (var a in new[] { "consumed_inputs", "is_test" }) n.Remove(a);
            switch (n.OpType)
            {
                case "BatchNormalization":
                    n.Remove("spatial");
                    while (n.Output.Count > 1)
                    {
                        if (usedOutputs.Contains(n.Output[^1])) throw new ModelException($"{n.Describe()} uses training outputs, which inference models must not");
                        n.Output.RemoveAt(n.Output.Count - 1);
                    }
                    break;
                case "Dropout":
                    if (n.Output.Count > 1 && usedOutputs.Contains(n.Output[1])) throw new ModelException($"{n.Describe()}: its mask output is used");
                    n.OpType = "Identity"; n.Attribute.Clear();
                    while (n.Input.Count > 1) n.Input.RemoveAt(1);
                    while (n.Output.Count > 1) n.Output.RemoveAt(1);
                    break;
                case "Add": case "Sub": case "Mul": case "Div":
                    if (from < 7 && n.GetInt("broadcast", 0) != 0 && n.Find("axis") is { } axisAttr)
                    {
                        var bt = b.ConstantValue(n.Input[1]) ?? throw new ModelException($"{n.Describe()}: legacy axis broadcast of a non-constant operand");
                        int xr = b.Rank(n.Input[0]);
                        long axis = axisAttr.I < 0 ? axisAttr.I + xr : axisAttr.I;
                        var dims = bt.Dims.ToList();
                        while (axis + dims.Count < xr) dims.Add(1);
                        var nt = bt.Clone(); nt.Dims.Clear(); nt.Dims.AddRange(dims);
                        n.Input[1] = b.Initializer(nt, n.Input[1] + "_bcast");
                    }
                    n.Remove("broadcast"); n.Remove("axis");
                    break;
                case "Gemm":
                    n.Remove("broadcast");
                    break;
                case "Reshape":
                    if (n.GetInts("shape") is { } shape) { n.Remove("shape"); n.Input.Add(b.Ints(shape)); }
                    break;
                case "Pad":
                    if (n.GetInts("pads") is { } pads)
                    {
                        float value = n.GetFloat("value", 0f);
                        n.Remove("pads"); n.Remove("value");
                        n.Input.Add(b.Ints(pads));
                        if (value != 0f) n.Input.Add(b.Scalar(value));
                    }
                    if (n.Find("paddings") is not null) throw new ModelException($"{n.Describe()} uses the opset-1 'paddings' attribute");
                    break;
                case "Slice":
                    if (n.GetInts("starts") is { } starts)
                    {
                        var ends = n.GetInts("ends")!;
                        var axes = n.GetInts("axes") ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
                        n.Remove("starts"); n.Remove("ends"); n.Remove("axes");
                        n.Input.Add(b.Ints(starts)); n.Input.Add(b.Ints(ends)); n.Input.Add(b.Ints(axes));
                    }
                    break;
                case "Squeeze": case "Unsqueeze":
                    if (n.GetInts("axes") is { } sq) { n.Remove("axes"); n.Input.Add(b.Ints(sq)); }
                    break;
                case "ReduceSum":
                    if (n.GetInts("axes") is { } rs) { n.Remove("axes"); n.Input.Add(b.Ints(rs)); }
                    break;
                case "Split":
                    if (n.GetInts("split") is { } sp) { n.Remove("split"); n.Input.Add(b.Ints(sp)); }
                    break;
                case "Clip":
                    if (from < 11)
                    {
                        float min = n.GetFloat("min", float.MinValue), max = n.GetFloat("max", float.MaxValue);
                        n.Remove("min"); n.Remove("max");
                        n.Input.Add(b.Scalar(min)); n.Input.Add(b.Scalar(max));
                    }
                    break;
                case "Concat":
                    if (n.Find("axis") is null) n.Set("axis", 1L);
                    break;
                case "Upsample":
                {
                    string mode = n.GetString("mode", "nearest");
                    string scales = n.GetFloats("scales") is { } sc ? b.Constant(sc, new long[] { sc.Length }, "scales") : n.Input[1];
                    n.OpType = "Resize";
                    n.Attribute.Clear();
                    n.Set("mode", mode == "bilinear" ? "linear" : mode);
                    if (mode == "nearest") { n.Set("nearest_mode", "floor"); n.Set("coordinate_transformation_mode", "asymmetric"); }
                    var x = n.Input[0];
                    n.Input.Clear(); n.Input.Add(x); n.Input.Add(""); n.Input.Add(scales);
                    break;
                }
                case "Softmax": case "LogSoftmax": case "Hardmax":
                    if (from < 13)
                    {
                        int rank = b.Info(n.Input[0])?.Rank ?? -1;
                        long axis = n.GetInt("axis", 1);
                        if (rank < 0) throw new ModelException($"{n.Describe()}: opset-{from} softmax needs a known input rank to be upgraded");
                        if (axis < 0) axis += rank;
                        if (axis != rank - 1)
                        {
                            // Old semantics: flatten to 2-D at axis, softmax over the second axis, reshape back.
                            var flat = b.Node("Flatten", new[] { n.Input[0] }, null, ("axis", axis));
                            var sm = b.Node(n.OpType, new[] { flat }, null, ("axis", 1L));
                            var back = new NodeProto { OpType = "Reshape", Name = b.UniqueName(n.Name + "_reshape") };
                            back.Input.Add(sm); back.Input.Add(b.ShapeOf(n.Input[0])); back.Output.Add(n.Output[0]);
                            b.AddNode(back);
                            continue;
                        }
                    }
                    break;
            }
            b.AddNode(n);
        }
        foreach (var o in model.OpsetImport) if (string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx") o.Version = OnnxModels.TargetOpset;
        if (model.IrVersion < 8) model.IrVersion = 8;
        g.ValueInfo.Clear();
        // Initializers must not be listed as inputs for ONNX Runtime to treat them as constants.
        var inits = g.Initializer.Select(i => i.Name).ToHashSet();
        for (int i = g.Input.Count - 1; i >= 0; i--) if (inits.Contains(g.Input[i].Name)) g.Input.RemoveAt(i);
    }

    /// <summary>Makes the chosen dimensions of a graph input symbolic (for example batch, height and width).</summary>
    public static void MakeInputDimsSymbolic(ModelProto model, string input, IReadOnlyDictionary<int, string> dims)
    {
        var vi = model.Graph.Input.FirstOrDefault(i => i.Name == input) ?? throw new ModelException($"model has no input '{input}'");
        var shape = vi.Type.TensorType.Shape;
        foreach (var (axis, name) in dims)
        {
            var d = shape.Dim[axis];
            d.ClearValue();
            d.DimParam = name;
        }
        model.Graph.ValueInfo.Clear();
        foreach (var o in model.Graph.Output) o.Type?.TensorType?.Shape?.Dim.Clear();
        foreach (var o in model.Graph.Output) if (o.Type?.TensorType is { } tt) tt.Shape = null;
    }

    /// <summary>
    /// Gives every anonymous dynamic dimension of the graph inputs a name (<c>INPUT_dK</c>), in place. The model means the
    /// same, but ONNX Runtime creates sessions for it in linear instead of quadratic time: with anonymous input dimensions
    /// its shape inference mints a fresh symbol for every node of a chain and a 2000-node chain took 12 s instead of 0.1 s.
    /// </summary>
    public static void NameDynamicDimensions(ModelProto model)
    {
        foreach (var input in model.Graph.Input)
            if (input.Type?.TensorType?.Shape is { } shape)
                for (int k = 0; k < shape.Dim.Count; k++)
                    if (shape.Dim[k].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.None
                        || (shape.Dim[k].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam && shape.Dim[k].DimParam.Length == 0))
                        shape.Dim[k].DimParam = $"{input.Name}_d{k}";
    }

    /// <summary>Adds intermediate tensors to the graph outputs (any tensor can then be fetched).</summary>
    public static void ExposeOutputs(ModelProto model, IEnumerable<string> tensors)
    {
        var b = new GraphBuilder(model);
        foreach (var t in tensors)
        {
            if (!b.Exists(t)) throw new ModelException($"model has no tensor named '{t}'");
            b.AddOutput(t);
        }
    }

    /// <summary>Keeps only the nodes, initializers and inputs that the given outputs need, and makes them the graph outputs.</summary>
    public static void Prune(ModelProto model, IReadOnlyList<string> outputs)
    {
        var g = model.Graph;
        var b = new GraphBuilder(model);
        foreach (var o in outputs) if (!b.Exists(o)) throw new ModelException($"model has no tensor named '{o}'");
        var producer = new Dictionary<string, NodeProto>();
        foreach (var n in g.Node) foreach (var o in n.Output) producer[o] = n;
        var needed = new HashSet<string>(outputs);
        var keep = new HashSet<NodeProto>();
        var stack = new Stack<string>(outputs);
        while (stack.Count > 0)
        {
            var t = stack.Pop();
            if (!producer.TryGetValue(t, out var n) || !keep.Add(n)) continue;
            foreach (var i in n.Input.Where(i => i.Length > 0)) if (needed.Add(i)) stack.Push(i);
            foreach (var a in n.Attribute.Where(a => a.G is not null)) foreach (var i in OuterNames(a.G)) if (needed.Add(i)) stack.Push(i);
        }
        var kept = g.Node.Where(keep.Contains).ToList();
        g.Node.Clear(); g.Node.AddRange(kept);
        var inits = g.Initializer.Where(i => needed.Contains(i.Name)).ToList();
        g.Initializer.Clear(); g.Initializer.AddRange(inits);
        var inputs = g.Input.Where(i => needed.Contains(i.Name)).ToList();
        g.Input.Clear(); g.Input.AddRange(inputs);
        var outs = outputs.Select(o => g.Output.FirstOrDefault(x => x.Name == o)
                                       ?? GraphBuilder.MakeValueInfo(o, b.Info(o)?.ElemType ?? ElementType.Float, b.Info(o)?.Dims, null)).ToList();
        g.Output.Clear(); g.Output.AddRange(outs);
        var vis = g.ValueInfo.Where(v => needed.Contains(v.Name)).ToList();
        g.ValueInfo.Clear(); g.ValueInfo.AddRange(vis);
    }

    static IEnumerable<string> OuterNames(GraphProto sub)
    {
        var local = sub.Input.Select(i => i.Name).Concat(sub.Initializer.Select(i => i.Name)).Concat(sub.Node.SelectMany(n => n.Output)).ToHashSet();
        return sub.Node.SelectMany(n => n.Input).Where(i => i.Length > 0 && !local.Contains(i)).Distinct();
    }

    /// <summary>
    /// Folds inference-mode BatchNormalization into the preceding Conv where the Conv's output feeds only that BatchNormalization
    /// (W' = W·a, B' = (B − mean)·a + bias with a = scale/√(var+ε)). Returns how many were folded.
    /// </summary>
    public static int FoldBatchNorm(ModelProto model) => FoldBatchNormUnless(model, Array.Empty<string>());

    /// <summary>Like <see cref="FoldBatchNorm"/>, but leaves alone Conv/BN pairs that touch any of <paramref name="protect"/>.</summary>
    public static int FoldBatchNormUnless(ModelProto model, IReadOnlyCollection<string> protect)
    {
        var g = model.Graph;
        var b = new GraphBuilder(model);
        var consumers = new Dictionary<string, int>();
        foreach (var n in g.Node) foreach (var i in n.Input) consumers[i] = consumers.GetValueOrDefault(i) + 1;
        var outputs = g.Output.Select(o => o.Name).ToHashSet();
        var producer = new Dictionary<string, NodeProto>();
        foreach (var n in g.Node) foreach (var o in n.Output) producer[o] = n;
        var remove = new HashSet<NodeProto>();
        int folded = 0;
        foreach (var bn in g.Node.Where(n => n.OpType == "BatchNormalization").ToList())
        {
            if (!producer.TryGetValue(bn.Input[0], out var conv) || conv.OpType != "Conv") continue;
            if (consumers.GetValueOrDefault(bn.Input[0]) != 1 || outputs.Contains(bn.Input[0])) continue;
            var w = b.ConstantValue(conv.Input[1]);
            var p = Enumerable.Range(1, 4).Select(i => b.ConstantValue(bn.Input[i])).ToArray();
            if (w is null || p.Any(t => t is null)) continue;
            if (consumers.GetValueOrDefault(conv.Input[1]) != 1) continue; // weights shared elsewhere
            // Folding changes the Conv's weights and bias and removes the tensor between Conv and BN; the Conv's data input and
            // the BN's output survive unchanged, so differentiating with respect to them does not prevent folding.
            if (conv.Input.Skip(1).Concat(bn.Input.Skip(1)).Any(protect.Contains) || protect.Contains(conv.Output[0])) continue;
            var scale = TensorProtos.ToFloats(p[0]!); var bias = TensorProtos.ToFloats(p[1]!);
            var mean = TensorProtos.ToFloats(p[2]!); var variance = TensorProtos.ToFloats(p[3]!);
            float eps = bn.GetFloat("epsilon", 1e-5f);
            var wd = TensorProtos.ToFloats(w);
            int cout = (int)w.Dims[0];
            int per = wd.Length / cout;
            var cb = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? TensorProtos.ToFloats(b.ConstantValue(conv.Input[2]) ?? throw new ModelException($"{conv.Describe()}: non-constant bias")) : new float[cout];
            var nb = new float[cout];
            for (int c = 0; c < cout; c++)
            {
                float a = scale[c] / MathF.Sqrt(variance[c] + eps);
                for (int k = 0; k < per; k++) wd[c * per + k] *= a;
                nb[c] = (cb[c] - mean[c]) * a + bias[c];
            }
            var newW = b.Initializer(TensorProtos.FromFloats("", wd, w.Dims.ToArray()), conv.Input[1] + "_bnfold");
            var newB = b.Constant(nb, new long[] { cout }, conv.Input[1] + "_bnfold_bias");
            conv.Input[1] = newW;
            if (conv.Input.Count > 2) conv.Input[2] = newB; else conv.Input.Add(newB);
            conv.Output[0] = bn.Output[0];
            remove.Add(bn);
            folded++;
        }
        var keep = g.Node.Where(n => !remove.Contains(n)).ToList();
        g.Node.Clear(); g.Node.AddRange(keep);
        RemoveUnusedInitializers(model);
        return folded;
    }

    /// <summary>Drops initializers that no node, subgraph or output references.</summary>
    public static void RemoveUnusedInitializers(ModelProto model)
    {
        var g = model.Graph;
        var used = g.Node.SelectMany(n => n.Input)
            .Concat(g.Node.SelectMany(n => n.Attribute).Where(a => a.G is not null).SelectMany(a => OuterNames(a.G)))
            .Concat(g.Output.Select(o => o.Name)).ToHashSet();
        var keep = g.Initializer.Where(i => used.Contains(i.Name)).ToList();
        g.Initializer.Clear(); g.Initializer.AddRange(keep);
    }
}
